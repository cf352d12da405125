"""`warehouse bench` end to end, in its smallest configuration: one ladder step of a few hundred orders through
P0 (this framework), P2 (dbt incremental models in a loop) and P3 (materialized views). It checks that the
harness works and that every contender's final tables equal the oracle; it asserts nothing about timing.

P1 (the regular-join variant of P0) runs P0's code path with a generated model. Each Flink contender needs about
a minute here (eight jobs started, then stopped), so running P1 too would take this test to the 3-minute limit;
its generated project is checked without starting it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from warehouse.bench import BenchConfig, run_bench
from warehouse.bench.p1_flink_join import write_join_project
from warehouse.context import Context

REPO = Path(__file__).resolve().parents[2]


def example_project(stack: Context, folder: Path) -> Context:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, folder / name)
    shutil.copy(REPO / "dbt_project.yml", folder)
    shutil.copy(stack.project_dir / "profiles.yml", folder)
    return Context(folder)


def test_smallest_benchmark_runs_end_to_end_and_every_contender_equals_the_oracle(
    stack: Context, tmp_path: Path
) -> None:
    context = example_project(stack, tmp_path / "project")
    messages: list[str] = []
    config = BenchConfig.smoke(tmp_path / "out")

    result = run_bench(context, config, messages.append)

    assert [c.name for c in result.contenders] == ["p0", "p2", "p3"]
    for contender in result.contenders:
        assert contender.error is None, contender.error
        assert contender.correctness is not None and contender.correctness.passed, contender.correctness
        [step] = contender.steps
        assert step.orders == 300 and step.source_rows > step.orders
        assert all(layer.seen > 0 for layer in step.freshness.values()), step.freshness
    assert set(result.contender("p0").layers) == {"ods", "dwd", "dws", "ads"}  # type: ignore[union-attr]
    saved = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [c["name"] for c in saved["contenders"]] == ["p0", "p2", "p3"]
    assert "## Summary" in (tmp_path / "out" / "results.md").read_text()
    assert any("orders/s" in message for message in messages)  # progress was shown


def test_p1_project_replaces_only_the_dwd_model_with_a_regular_join(tmp_path: Path) -> None:
    project = write_join_project(REPO, tmp_path / "p1")
    model = (project / "models" / "dwd" / "dwd_orders.sql").read_text()
    assert "FULL OUTER JOIN" in model and "materialized='continuous'" in model and "stream(" not in model
    originals = sorted(p.relative_to(REPO) for p in (REPO / "models").rglob("*") if p.is_file())
    copies = sorted(p.relative_to(project) for p in (project / "models").rglob("*") if p.is_file())
    assert copies == originals
