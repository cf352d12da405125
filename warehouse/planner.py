"""`warehouse plan`: what `run` would do, applying nothing.

Each selected model is new, unchanged or changed; a change is classified
- breaking or not: non-breaking when the queries are the same (options, caches, comments) or when
  the new queries only add output columns; breaking otherwise (the table's rows may change, so its
  dependants are listed as indirectly affected: they recompute through the binlog, their jobs keep
  running);
- state-compatible or not: whether `run` restarts the job from a savepoint or clean.
Each change carries the diff of the compiled job script against the one running.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from warehouse.compiler import JobPlan, job_script
from warehouse.decisions import decide
from warehouse.flinksql import FlinkSQL
from warehouse.registry import JobRecord
from warehouse.runner import Runner

VIEW = re.compile(r"^CREATE TEMPORARY VIEW `wh_stream_(\w+)` AS\n(.*)$", re.S)


@dataclass(frozen=True)
class PlannedChange:
    model: str
    kind: str  # new | changed | unchanged | indirect | removed
    action: str  # start | keep | resume | upgrade | rebuild | cancel | follow
    reason: str
    breaking: bool | None = None
    state_compatible: bool | None = None
    diff: str = ""


def plan_changes(runner: Runner, selector: str | None, full_refresh: bool = False) -> list[PlannedChange]:
    records = runner.registry.all()
    plans = runner.plans(runner.project.select(selector))
    changes = [_planned(plan, records.get(plan.model.name), runner, full_refresh) for plan in plans]
    changes += _indirect(runner, changes)
    if not selector:
        names = {m.name for m in runner.project.models.values()}
        changes += [
            PlannedChange(n, "removed", "cancel", "no longer in the project") for n in records if n not in names
        ]
    return changes


def _planned(plan: JobPlan, record: JobRecord | None, runner: Runner, full_refresh: bool) -> PlannedChange:
    decision = decide(plan, record, runner.job_state(record), full_refresh)
    name = plan.model.name
    if record is None:
        return PlannedChange(name, "new", decision.action, decision.reason, diff=_diff("", plan.script(), name))
    if decision.action in ("keep", "resume"):
        return PlannedChange(name, "unchanged", decision.action, decision.reason)
    old_script = job_script(record.spec["ddl"], record.spec["inserts"])
    breaking = _breaking(record, plan)
    return PlannedChange(
        name,
        "changed",
        decision.action,
        decision.reason,
        breaking,
        decision.state_compatible,
        _diff(old_script, plan.script(), name),
    )


def _indirect(runner: Runner, changes: list[PlannedChange]) -> list[PlannedChange]:
    breaking = [c.model for c in changes if c.breaking or (c.kind == "changed" and c.action == "rebuild")]
    listed = {c.model for c in changes if c.kind != "unchanged"}
    uids = [uid for uid, m in runner.project.models.items() if m.name in breaking]
    found = []
    for uid in runner.project.downstream(uids):
        name = runner.project.models[uid].name
        if name not in listed and name not in breaking:
            found.append(
                PlannedChange(
                    name,
                    "indirect",
                    "follow",
                    "an upstream table is rebuilt: its rows are recomputed through the binlog, the job keeps running",
                )
            )
    return found


def _breaking(record: JobRecord, plan: JobPlan) -> bool:
    if record.query_fingerprint == plan.query_fingerprint:
        return False
    old = _stream_queries(record.spec["ddl"])
    new = {stream.name: stream.sql for stream in plan.streams}
    if set(old) != set(new):
        return True
    return any(not _only_adds_columns(old[name], new[name]) for name in new)


def _stream_queries(ddl: list[str]) -> dict[str, str]:
    found = (VIEW.match(statement) for statement in ddl)
    return {match.group(1): match.group(2) for match in found if match}


def _only_adds_columns(old_sql: str, new_sql: str) -> bool:
    """True when the new SELECT is the old one plus extra output columns."""
    try:
        old, new = sqlglot.parse_one(old_sql, read=FlinkSQL), sqlglot.parse_one(new_sql, read=FlinkSQL)
    except sqlglot.errors.ParseError:
        return False
    if not isinstance(old, exp.Select) or not isinstance(new, exp.Select):
        return old.sql(dialect=FlinkSQL) == new.sql(dialect=FlinkSQL)
    kept = {e.alias_or_name for e in old.expressions}
    trimmed = new.copy()
    trimmed.set("expressions", [e for e in new.expressions if e.alias_or_name in kept])
    return trimmed.sql(dialect=FlinkSQL) == old.sql(dialect=FlinkSQL)


def _diff(old: str, new: str, name: str) -> str:
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), f"{name} (running)", f"{name} (compiled)", lineterm=""
    )
    return "\n".join(lines)
