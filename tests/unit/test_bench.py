"""The benchmark's pure parts: its config, the recorded workload, the step verdict, the report."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from warehouse.bench.config import BenchConfig
from warehouse.bench.correctness import CATALOG_NAME, PRODUCT, _tolerate_renames
from warehouse.bench.ladder import Window, _percentile, _verdict
from warehouse.bench.report import markdown, reference_rate
from warehouse.bench.results import BenchResult, ContenderResult, LayerFreshness, Machine, StepResult
from warehouse.bench.workload import read_ops, record_workload
from warehouse.demo.generator import replay

SMALL = BenchConfig(ladder=(10, 20), step_seconds=5, users=5, shops=3, products=8, product_rename_ratio=0.5)


def test_config_rejects_unknown_keys_and_a_ladder_that_does_not_climb() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        BenchConfig(ladder=(1, 2), rungs=3)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="strictly increasing"):
        BenchConfig(ladder=(200, 100))
    with pytest.raises(ValidationError, match="once"):
        BenchConfig(contenders=("p0", "p0"))


def test_workload_is_recorded_once_per_step_and_replays_to_a_consistent_shop(tmp_path: Path) -> None:
    messages: list[str] = []
    workload = record_workload(SMALL, tmp_path, messages.append)
    assert [(step.rate, step.orders) for step in workload.steps] == [(10, 50), (20, 100)]
    ops = [*read_ops(workload.products)] + [op for step in workload.steps for op in read_ops(step.path)]
    tables = replay(ops)  # raises on an operation the database would reject
    assert len(tables["product_catalog"]) == 8
    assert sum(workload.op_mix.values()) == len(ops)
    assert all(len(names) > 1 for names in workload.renamed.values())
    again = record_workload(SMALL, tmp_path, messages.append)
    assert again == workload and messages[-1].startswith("reusing")


def test_renamed_products_may_show_any_of_their_names() -> None:
    row = [0] * 11
    row[PRODUCT], row[CATALOG_NAME] = 7, "books"
    stale, current, wrong = tuple(row), _with(row, "toys"), _with(row, "music")
    names = {7: frozenset({"books", "toys"})}
    assert _tolerate_renames([stale], names) == _tolerate_renames([current], names)
    assert _tolerate_renames([wrong], names) != _tolerate_renames([current], names)


def _with(row: list[object], name: str) -> tuple[object, ...]:
    copy = list(row)
    copy[CATALOG_NAME] = name
    return tuple(copy)


@pytest.mark.parametrize(
    ("achieved", "first", "last", "sustained"),
    [(100, 1.0, 1.4, True), (90, 1.0, 1.0, False), (100, 1.0, 2.5, False), (100, 10.0, 14.0, True)],
)
def test_a_step_is_sustained_when_the_rate_is_reached_and_the_lag_stays_flat(
    achieved: float, first: float, last: float, sustained: bool
) -> None:
    fresh = {"dwd": LayerFreshness(p50=1, p99=2, max=3, seen=10, missing=0)}
    assert _verdict(100, achieved, fresh, first, last, Window(0, 10, 12))[0] is sustained


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert (_percentile(values, 50), _percentile(values, 99), _percentile([], 50)) == (50.0, 99.0, None)


def small_result() -> BenchResult:
    """P0 sustained 10 and 20 orders/s, P2 only 10 (used by the CLI tests too)."""
    return BenchResult(
        config=SMALL,
        machine=Machine(cpus=2, cpu_model="x", memory_bytes=1, system="Linux", python="3", postgres="18", flink="1"),
        workload={"insert orders": 150},
        renamed_products=1,
        started_at="t0",
        finished_at="t1",
        contenders=[_contender("p0", [10, 20], 0.5), _contender("p2", [10], 12.0)],
    )


def test_report_compares_every_contender_at_the_highest_common_step() -> None:
    result = small_result()
    assert reference_rate(result) == 10
    text = markdown(result)
    assert "| p2 | 24.0x | 24.0x |" in text
    assert "P0 ≥ 20x fresher than P2" in text and "met" in text


def _contender(name: str, rates: list[int], lag: float) -> ContenderResult:
    fresh = {"dwd": LayerFreshness(p50=lag, p99=lag, max=lag, seen=5, missing=0)}
    steps = [_step(rate, fresh) for rate in rates]
    return ContenderResult(
        name=name,
        title=name.upper(),
        layers=["dwd"],
        steps=steps,
        sustained_rate=rates[-1],
        build_seconds=1.0,
        correctness=None,
        error=None,
        flink_state_by_job={},
        freshness_series={},
        state_series=[],
    )


def _step(rate: int, fresh: dict[str, LayerFreshness]) -> StepResult:
    return StepResult(
        rate=rate,
        orders=rate * 5,
        source_rows=rate * 12,
        started_at=0,
        feed_seconds=5,
        orders_per_s=rate,
        source_rows_per_s=rate * 2.4,
        freshness=fresh,
        lag_first_third_s=1,
        lag_last_third_s=1,
        drain_seconds=1,
        sustained=True,
        verdict="lag flat",
        cpu_seconds=1,
        cpu_cores=0.5,
        cpu_cores_by_part={"postgres": 0.5},
        other_cores=0.1,
        cpu_s_per_million_rows=100,
        wal_bytes=1000,
        wal_bytes_per_row=10,
        memory_peak_bytes=2**30,
        flink_state_bytes=None,
        slot_lag_peak_bytes=None,
    )
