"""A continuous job must not contain a source that finishes: Flink 1.20 then takes a failed task for a finished
one during a restart (FLINK-40482) and may resume without it. The rejects branch is written so the planner
cannot prove it empty, and a plan with a bounded source is refused (pure functions on Flink's EXPLAIN text)."""

from __future__ import annotations

import pytest

from warehouse.compiler import CompiledJob, CompiledModel
from warehouse.lifecycle.validate import PlannerRejection, _require_no_bounded_source
from warehouse.model_config import TableSettings
from warehouse.project import Column, Model, Table
from warehouse.valuefit import rejected

AST = "== Abstract Syntax Tree ==\nLogicalSink(table=[t])\n+- LogicalValues(tuples=[[]])\n"
EXECUTION = "== Optimized Execution Plan ==\n"
SINK = "Sink(table=[warehouse._warehouse.rejected_rows], fields=[model, stream, row_key])\n"
PLANS = [
    # (the part of EXPLAIN after the AST, refused)
    (EXECUTION + SINK + "+- Calc(select=[...], where=[...])\n   +- TableSourceScan(...)", False),
    (EXECUTION + SINK + "+- Values(tuples=[[]], values=[model, stream])", True),
    (EXECUTION + "Sink(table=[t])\n+- Union(all=[true])\n   :- Values(tuples=[[{ 1 }]])", True),
]


def job() -> CompiledJob:
    table = Table("model.x.t", "warehouse", "ods", "t", (Column("id", "bigint"),), ("id",))
    model = Model(table, "models/ods/t.sql", "continuous", TableSettings(primary_key=["id"]), ())
    return CompiledJob("t", [CompiledModel(model, [])], [], [], [])


@pytest.mark.parametrize(("execution", "refused"), PLANS)
def test_a_bounded_source_in_the_execution_plan_is_refused(execution: str, refused: bool) -> None:
    plan = AST + "\n" + execution
    if refused:
        with pytest.raises(PlannerRejection, match=r"the plan of job t \(t\) has a bounded source") as caught:
            _require_no_bounded_source(job(), plan)
        assert (caught.value.where, caught.value.model.name) == ("models/ods/t.sql", "t")
    else:
        _require_no_bounded_source(job(), plan)  # the AST's LogicalValues is not the job's plan


def test_the_rejects_filter_keeps_a_term_the_planner_cannot_fold() -> None:
    condition = rejected("`id` IS NOT NULL", "id")
    assert condition == "NOT (`id` IS NOT NULL) OR CHAR_LENGTH(CAST(`id` AS STRING)) < 0"
