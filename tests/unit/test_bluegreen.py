"""The pure rules of blue/green deploys (lifecycle/bluegreen.py, plan.beside_steps), row by row, without services."""

from __future__ import annotations

from dataclasses import replace

import pytest

from warehouse.compiler import Slot
from warehouse.lifecycle.bluegreen import (
    beside_blocker,
    lag_targets,
    next_key,
    other_slot_set,
    shadow_schema,
)
from warehouse.lifecycle.decide import Action, Decision, State
from warehouse.lifecycle.observe import Observation
from warehouse.lifecycle.plan import Step, beside_steps, job_change
from warehouse.lifecycle.registry import JobRecord


@pytest.mark.parametrize(
    ("state", "own_reads", "blocked_by"),
    [
        ("RUNNING", [], ""),
        ("STOPPED", [], "is not running (stopped)"),
        ("FAILED", [], "is not running (failed)"),
        ("VANISHED", [], "is not running (vanished)"),
        ("RUNNING", ["dws_a"], "reads the binlog of its own table(s) dws_a"),
    ],
)
def test_which_jobs_can_be_built_beside_their_live_version(state: str, own_reads: list[str], blocked_by: str) -> None:
    blocker = beside_blocker("job_a", state, own_reads)
    assert (blocked_by in blocker) if blocked_by else blocker == ""


@pytest.mark.parametrize(("live", "next_set"), [("", "b"), ("b", "")])
def test_slot_sets_alternate_deploy_after_deploy(live: str, next_set: str) -> None:
    assert other_slot_set(live) == next_set


def test_names_of_a_new_version() -> None:
    assert shadow_schema("dws") == "dws__wh_next"
    assert next_key("dws_shop_daily") == "dws_shop_daily@next"


@pytest.mark.parametrize(
    ("new_table", "live_slots", "target"),
    [
        ("orders", [{"name": "wh_j__orders", "database": "w", "schema": "ods", "table": "orders"}], "wh_j__orders"),
        ("orders", [{"name": "wh_j__pay", "database": "w", "schema": "ods", "table": "pay"}], None),
        ("orders", [], None),
        (
            "orders",
            [{"name": "wh_j__ods__tables", "database": "w", "schema": "ods", "tables": ["pay", "orders"]}],
            "wh_j__ods__tables",
        ),
        ("pay,orders", [{"name": "wh_j__orders", "database": "w", "schema": "ods", "table": "orders"}], "wh_j__orders"),
        ("pay,tax", [{"name": "wh_j__orders", "database": "w", "schema": "ods", "table": "orders"}], None),
    ],
)
def test_a_new_reader_catches_up_with_the_live_reader_of_the_same_table(
    new_table: str, live_slots: list[dict[str, str]], target: str | None
) -> None:
    new = [Slot("wh__j__orders", "w", "ods", tuple(new_table.split(",")))]
    assert lag_targets(new, live_slots) == {"wh__j__orders": target}


def record(name: str) -> JobRecord:
    return JobRecord(name, "f", "q", "id-" + name, "running")


def step(name: str, action: Action, clears: tuple[str, ...] = (), state: State = "RUNNING") -> Step:
    kind = "unchanged" if action == "keep" else "changed"
    return Step(
        name, kind, Decision(action, "queries changed: x"), None, record(name), Observation(state), clears=clears
    )


ORDER = ["ods", "dwd", "dws", "ads"]


@pytest.mark.parametrize(
    ("steps", "downstream", "beside"),
    [
        # a rebuild that clears a table goes beside, with every job downstream of it, in job order
        ([step("dws", "rebuild", ("dws",))], [step("ads", "keep")], ["dws", "ads"]),
        # a rebuild recomputed in place (nothing cleared) keeps its rows: no blue/green
        ([step("dws", "rebuild")], [], []),
        # upgrades and keeps are not rebuilds
        ([step("dws", "upgrade"), step("ads", "keep")], [], []),
        # a set with a job that is not running is rebuilt in place
        ([step("dws", "rebuild", ("dws",))], [step("ads", "keep", state="STOPPED")], []),
    ],
)
def test_the_deploy_set(steps: list[Step], downstream: list[Step], beside: list[str]) -> None:
    planned = beside_steps(steps, downstream, ORDER)
    assert [s.name for s in planned if s.beside] == beside
    assert [s.name for s in planned] == sorted((s.name for s in planned), key=ORDER.index)  # upstream first
    for s in planned:
        if s.beside:
            assert s.action == "rebuild" and not s.decision.destructive


def test_a_set_rebuilt_in_place_says_why() -> None:
    planned = beside_steps([step("dws", "rebuild", ("dws",))], [step("ads", "keep", state="STOPPED")], ORDER)
    assert "in place, not blue/green: job ads is not running (stopped)" in planned[0].reason


def test_a_job_whose_upstream_was_swapped_must_be_rebuilt() -> None:
    from warehouse.compiler import CompiledJob

    job = CompiledJob("ads", [], [], [], [])
    live = replace(record("ads"), fingerprint=job.fingerprint, query_fingerprint=job.query_fingerprint)
    assert job_change(job, live) == "none"
    live.spec["replaced_upstream"] = True
    assert job_change(job, live) == "queries"


@pytest.mark.parametrize(("slot_set", "name"), [("", "wh_dws_a__dwd_b"), ("b", "wh__dws_a__dwd_b")])
def test_both_slot_sets_are_warehouse_slots(slot_set: str, name: str) -> None:
    from warehouse.compiler import slot_name
    from warehouse.store import SLOT_PREFIX

    assert slot_name("dws_a", "dwd_b", slot_set) == name
    assert name.startswith(SLOT_PREFIX)  # dropped with its job, found by `down` and `doctor`
