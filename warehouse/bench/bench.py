"""`warehouse bench`: the layers' throughput and freshness, side by side with the ways people do it today.

P0 this framework, P1 the same pipeline with a regular Flink join, P2 dbt-postgres incremental models in a loop,
P3 PostgreSQL materialized views refreshed in a loop; all fed the same recorded workload (W1) on the same stack,
one after the other. Like `warehouse demo`, it owns the database `shop` and the example warehouse's tables: it
recreates them for every contender and stops every job it started.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psutil

from warehouse.bench.config import BenchConfig, ContenderName
from warehouse.bench.contender import Contender
from warehouse.bench.p0_warehouse import p0_partial_update
from warehouse.bench.p1_flink_join import p1_flink_join
from warehouse.bench.p2_dbt_incremental import DbtIncremental
from warehouse.bench.p3_matviews import MaterializedViews
from warehouse.bench.report import write_report
from warehouse.bench.results import BenchResult, Machine
from warehouse.bench.session import run_contender
from warehouse.bench.workload import Workload, record_workload
from warehouse.context import Context
from warehouse.errors import WarehouseError
from warehouse.store import connect

Progress = Callable[[str], None]


def run_bench(context: Context, config: BenchConfig, progress: Progress) -> BenchResult:
    """Record the workload (or reuse it), run every contender on it, write results.json/.md and freshness.png."""
    folder = output_folder(context, config)
    started = _now()
    workload = record_workload(config, folder / "workload", progress)
    contenders = [_contender(name, context, config, folder) for name in config.contenders]
    results = [run_contender(context.settings, config, workload, c, progress) for c in contenders]
    result = BenchResult(
        config=config,
        machine=machine(context),
        workload=workload.op_mix,
        renamed_products=len(workload.renamed),
        started_at=started,
        finished_at=_now(),
        contenders=results,
    )
    for path in write_report(result, folder, progress):
        progress(f"wrote {path}")
    return result


def output_folder(context: Context, config: BenchConfig) -> Path:
    folder = config.output_dir
    return folder if folder.is_absolute() else context.project_dir / folder


def _contender(name: ContenderName, context: Context, config: BenchConfig, folder: Path) -> Contender:
    store = context.store
    if name == "p0":
        return p0_partial_update(context)
    if name == "p1":
        return p1_flink_join(context, folder / "p1_project")
    if name == "p2":
        return DbtIncremental(store, folder / "p2_project", config.p2_pause_seconds)
    return MaterializedViews(store, config.p3_pause_seconds)


def machine(context: Context) -> Machine:
    return Machine(
        cpus=os.cpu_count() or 0,
        cpu_model=_cpu_model(),
        memory_bytes=psutil.virtual_memory().total,
        system=f"{platform.system()} {platform.release()}",
        python=platform.python_version(),
        postgres=_postgres_version(context),
        flink=_flink_version(context),
    )


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _postgres_version(context: Context) -> str:
    with connect(context.store) as conn:
        row = conn.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "unknown"


def _flink_version(context: Context) -> str:
    try:
        return str(context.jobmanager.config().get("flink-version", "unknown"))
    except WarehouseError:
        return "unknown"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


__all__ = ["BenchConfig", "BenchResult", "Workload", "run_bench"]
