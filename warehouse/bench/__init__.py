"""`warehouse bench`: throughput and freshness of the layers against the ways people do it today.

`run_bench(context, config, progress)` lives in `warehouse.bench.bench` (imported lazily here, so that the
benchmark's child processes, which import this package, do not pay for dbt and the facade).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warehouse.bench.config import BenchConfig

if TYPE_CHECKING:
    from warehouse.bench.bench import run_bench
    from warehouse.bench.results import BenchResult

__all__ = ["BenchConfig", "BenchResult", "run_bench"]


def __getattr__(name: str) -> Any:
    if name == "run_bench":
        from warehouse.bench.bench import run_bench

        return run_bench
    if name == "BenchResult":
        from warehouse.bench.results import BenchResult

        return BenchResult
    raise AttributeError(name)
