"""The lifecycle's decision table, row by row (a pure function: no services)."""

from __future__ import annotations

import pytest

from warehouse.lifecycle.decide import Decision, Facts, decide
from warehouse.lifecycle.plan import Plan, Step, retyped

SAVEPOINT = "file:///sp/savepoint-1"
CHECKPOINT = "file:///ck/job/chk-7"
SP, CK = SAVEPOINT, CHECKPOINT

ROWS = [
    # (row, facts, action, restore_from, destructive)
    ("new model", Facts(True, "none", "none", "NONE"), "start", None, False),
    ("unchanged, running", Facts(False, "none", "none", "RUNNING"), "keep", None, False),
    ("unchanged, new nullable column", Facts(False, "none", "additive", "RUNNING"), "keep", None, False),
    ("unchanged, stopped with a savepoint", Facts(False, "none", "none", "STOPPED", SP), "resume", SP, False),
    ("compatible change, running", Facts(False, "settings", "none", "RUNNING"), "upgrade", None, False),
    (
        "compatible change, stopped with a savepoint (issue: was rebuilt)",
        Facts(False, "settings", "none", "STOPPED", SAVEPOINT),
        "resume",
        SAVEPOINT,
        False,
    ),
    (
        "upgrade failed half-way: old job stopped with a savepoint, new one never started",
        Facts(False, "settings", "additive", "STOPPED", SAVEPOINT),
        "resume",
        SAVEPOINT,
        False,
    ),
    ("queries changed, running", Facts(False, "queries", "none", "RUNNING"), "rebuild", None, True),
    ("queries changed, failed with a checkpoint", Facts(False, "queries", "none", "FAILED", CK), "rebuild", None, True),
    (
        "FAILED after a TaskManager loss, checkpoint retained (issue: was rebuilt)",
        Facts(False, "none", "none", "FAILED", CHECKPOINT),
        "resume",
        CHECKPOINT,
        False,
    ),
    (
        "vanished after a JobManager restart, checkpoint retained (issue: was rebuilt)",
        Facts(False, "none", "none", "VANISHED", CHECKPOINT),
        "resume",
        CHECKPOINT,
        False,
    ),
    ("cancelled by hand, checkpoint retained", Facts(False, "none", "none", "CANCELED", CK), "resume", CK, False),
    (
        "compatible change, failed with a checkpoint",
        Facts(False, "settings", "none", "FAILED", CHECKPOINT),
        "resume",
        CHECKPOINT,
        False,
    ),
    ("failed before any checkpoint", Facts(False, "none", "none", "FAILED"), "rebuild", None, True),
    ("vanished, no checkpoint anywhere", Facts(False, "none", "none", "VANISHED"), "rebuild", None, True),
    (
        "REST error: state unknown (issue: was rebuilt)",
        Facts(False, "none", "none", "UNREACHABLE", detail="cannot reach Flink JobManager"),
        "refuse",
        None,
        False,
    ),
    (
        "REST error even with --full-refresh",
        Facts(False, "queries", "none", "UNREACHABLE", full_refresh=True),
        "refuse",
        None,
        False,
    ),
    (
        "incompatible type change (issue: plan said rebuild, run refused)",
        Facts(False, "queries", "incompatible", "RUNNING", detail="column x changes type from bigint to integer"),
        "refuse",
        None,
        False,
    ),
    (
        "a source declared narrower than its database column",
        Facts(False, "none", "none", "RUNNING", source_problem="column buy_fee is numeric(20,2) in the database"),
        "refuse",
        None,
        False,
    ),
    (
        "a narrow source is refused even with --full-refresh (a rebuild would read NULLs again)",
        Facts(False, "none", "none", "RUNNING", full_refresh=True, source_problem="column buy_fee is numeric"),
        "refuse",
        None,
        False,
    ),
    ("--full-refresh, running", Facts(False, "none", "none", "RUNNING", full_refresh=True), "rebuild", None, True),
    (
        "--full-refresh over an incompatible table",
        Facts(False, "queries", "incompatible", "RUNNING", full_refresh=True),
        "rebuild",
        None,
        True,
    ),
    ("new model with --full-refresh", Facts(True, "none", "none", "NONE", full_refresh=True), "start", None, False),
]


@pytest.mark.parametrize(("row", "facts", "action", "restore_from", "destructive"), ROWS, ids=[r[0] for r in ROWS])
def test_decision_table(row: str, facts: Facts, action: str, restore_from: str | None, destructive: bool) -> None:
    decision = decide(facts)
    assert (decision.action, decision.restore_from, decision.destructive) == (action, restore_from, destructive)
    assert decision.reason
    assert decision.state_compatible == (action in ("keep", "resume", "upgrade"))


def test_every_refusal_says_how_to_fix_it() -> None:
    refusals = [decide(facts) for _, facts, action, *_ in ROWS if action == "refuse"]
    assert refusals and all(decision.hint for decision in refusals)


def test_a_resume_names_what_it_resumes_from() -> None:
    assert "savepoint" in decide(Facts(False, "none", "none", "STOPPED", SAVEPOINT)).reason
    assert "checkpoint" in decide(Facts(False, "none", "none", "VANISHED", CHECKPOINT)).reason
    assert "state-compatible change" in decide(Facts(False, "settings", "none", "FAILED", CHECKPOINT)).reason


def plan_of(*steps: Step) -> Plan:
    return Plan(None, False, list(steps))


def test_a_reviewed_plan_matches_itself_and_names_what_moved() -> None:
    keep = Step("a", "unchanged", Decision("keep", "unchanged"))
    rebuild = Step("b", "changed", Decision("rebuild", "queries changed", destructive=True))
    reviewed = plan_of(keep, rebuild).to_json()
    assert plan_of(keep, rebuild).differences(reviewed) == []
    moved = plan_of(keep, Step("b", "changed", Decision("resume", "job failed", restore_from=CHECKPOINT)))
    assert moved.differences(reviewed) == [
        "b: action was 'rebuild', now 'resume'",
        "b: destructive was True, now False",
        f"b: restore_from was None, now '{CHECKPOINT}'",
    ]
    assert plan_of(keep).differences(reviewed) == ["b: no longer planned"]


@pytest.mark.parametrize(
    ("before", "after", "changed"),
    [
        ({"t.a": "BIGINT", "t.b": "DECIMAL(12, 2)"}, {"t.a": "BIGINT", "t.b": "DECIMAL(12, 2)"}, []),
        ({"t.a": "BIGINT"}, {"t.a": "BIGINT", "t.c": "STRING"}, []),  # a new column keeps the state
        ({"t.a": "BIGINT", "t.c": "STRING"}, {"t.a": "BIGINT"}, []),
        ({"t.b": "DECIMAL(12, 2)"}, {"t.b": "DECIMAL(20, 2)"}, ["t.b"]),  # a type change does not
        ({}, {"t.a": "BIGINT"}, []),  # recorded before column types were kept
    ],
)
def test_a_retyped_column_makes_a_job_state_incompatible(
    before: dict[str, str], after: dict[str, str], changed: list[str]
) -> None:
    assert retyped(before, after) == changed
