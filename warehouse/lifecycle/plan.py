"""A plan: for every selected model, the decision `run` will carry out and the facts it rests on.

`warehouse plan` shows a plan and applies nothing; `warehouse run` builds the same plan and applies it,
so both give the same answer for the same change, refusals included. Each change is classified
- breaking or not: non-breaking when the queries are the same (options, caches, comments) or when the
  new queries only add output columns; breaking otherwise (the table's rows may change, so its
  dependants are listed as indirectly affected: they recompute through the binlog, their jobs keep
  running);
- state-compatible or not: whether the job keeps its state (resumes or upgrades from a savepoint) or is
  rebuilt; rebuilds are marked destructive.
Each change carries the diff of the compiled job script against the one running.

`plan --out FILE` writes what was reviewed; `run --plan FILE` applies it only while a fresh plan still
says exactly the same (same compiled jobs, same recorded and observed jobs, same decisions).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from warehouse.catalog import TableChange
from warehouse.compiler import CompiledJob, job_script
from warehouse.errors import WarehouseError
from warehouse.flinksql import FlinkSQL
from warehouse.lifecycle.decide import Decision, Facts, decide
from warehouse.lifecycle.observe import Observation
from warehouse.lifecycle.registry import JobRecord

VIEW = re.compile(r"^CREATE TEMPORARY VIEW `wh_stream_(\w+)` AS\n(.*)$", re.S)
PLAN_FORMAT = 1


@dataclass(frozen=True)
class Step:
    model: str
    kind: str  # new | changed | unchanged | indirect | removed
    decision: Decision
    job: CompiledJob | None = None
    record: JobRecord | None = None
    observation: Observation = field(default_factory=lambda: Observation("NONE"))
    table: TableChange | None = None
    breaking: bool | None = None
    diff: str = ""

    @property
    def action(self) -> str:
        return "follow" if self.kind == "indirect" else self.decision.action

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def state_compatible(self) -> bool | None:
        return self.decision.state_compatible if self.kind == "changed" else None

    def reviewed(self) -> dict[str, Any]:
        """What must still hold when a reviewed plan is applied."""
        return {
            "model": self.model,
            "kind": self.kind,
            "action": self.action,
            "destructive": self.decision.destructive,
            "restore_from": self.decision.restore_from,
            "compiled": self.job.fingerprint if self.job else None,
            "recorded": self.record.fingerprint if self.record else None,
            "job_id": self.record.job_id if self.record else None,
            "observed": self.observation.state,
            "table": self.table.action if self.table else None,
        }


@dataclass(frozen=True)
class Plan:
    selector: str | None
    full_refresh: bool
    steps: list[Step]

    @property
    def refusals(self) -> list[Step]:
        return [step for step in self.steps if step.action == "refuse"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "selector": self.selector,
            "full_refresh": self.full_refresh,
            "steps": [step.reviewed() for step in self.steps],
        }

    def differences(self, reviewed: dict[str, Any]) -> list[str]:
        """How this (fresh) plan differs from a reviewed one; empty when it is the same plan."""
        before = {step["model"]: step for step in reviewed.get("steps", [])}
        now = {step.model: step.reviewed() for step in self.steps}
        found = [f"{name}: no longer planned" for name in before if name not in now]
        found += [f"{name}: newly planned" for name in now if name not in before]
        for name in before.keys() & now.keys():
            changed = [k for k in now[name] if before[name].get(k) != now[name][k]]
            found += [f"{name}: {key} was {before[name].get(key)!r}, now {now[name][key]!r}" for key in changed]
        return sorted(found)


def read_reviewed(path: Path) -> dict[str, Any]:
    try:
        reviewed = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise WarehouseError(
            f"cannot read the plan {path}: {exc}", hint="write one with `warehouse plan --out FILE`"
        ) from None
    if not isinstance(reviewed, dict) or reviewed.get("format") != PLAN_FORMAT:
        raise WarehouseError(f"{path} is not a plan written by `warehouse plan --out`", hint="write it again")
    return reviewed


def job_change(job: CompiledJob, record: JobRecord) -> str:
    """none | settings (the job keeps its state) | queries (it cannot: new queries, or a column of a table it
    declares changed type, which changes Flink's operators and their state; new columns do not)."""
    if record.fingerprint == job.fingerprint:
        return "none"
    if record.query_fingerprint != job.query_fingerprint or retyped(record.spec.get("columns", {}), job.column_types):
        return "queries"
    return "settings"


def retyped(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The `table.column`s declared by both versions of a job with another type."""
    return sorted(name for name, kind in after.items() if name in before and before[name] != kind)


def make_step(
    job: CompiledJob,
    record: JobRecord | None,
    observation: Observation,
    table: TableChange,
    full_refresh: bool,
    source_problems: list[str] | None = None,
) -> Step:
    """The decision for one compiled model, classified for review."""
    facts = Facts(
        new=record is None,
        job_change="none" if record is None else job_change(job, record),  # type: ignore[arg-type]
        table_change=table.kind,  # type: ignore[arg-type]
        state=observation.state,
        restore_point=observation.restore_point,
        full_refresh=full_refresh,
        detail=table.detail if table.kind == "incompatible" else observation.detail,
        source_problem="; ".join(source_problems or []),
    )
    decision = decide(facts)
    name = job.model.name
    if record is None:
        return Step(name, "new", decision, job, None, observation, table, diff=_diff("", job.script(), name))
    if facts.job_change == "none" and table.kind == "none":
        return Step(name, "unchanged", decision, job, record, observation, table)
    old_script = job_script(record.spec["ddl"], record.spec["inserts"])
    diff = _diff(old_script, job.script(), name)
    return Step(name, "changed", decision, job, record, observation, table, _breaking(record, job), diff)


def indirect_steps(steps: list[Step], downstream: Iterable[str]) -> list[Step]:
    """Dependants of rebuilt or breaking changes that are not planned themselves: they follow through the binlog."""
    listed = {step.model for step in steps if step.kind != "unchanged"}
    decision = Decision(
        "keep", "an upstream table is rebuilt: its rows are recomputed through the binlog, the job keeps running"
    )
    return [Step(name, "indirect", decision) for name in downstream if name not in listed]


def removed_step(record: JobRecord) -> Step:
    decision = Decision("remove", "no longer in the project: job cancelled, slots dropped", destructive=True)
    return Step(record.model, "removed", decision, record=record)


def rebuilding(steps: list[Step]) -> list[str]:
    """Models whose rows may change wholesale: their dependants are affected."""
    return [s.model for s in steps if s.breaking or (s.decision.action == "rebuild" and s.kind != "new")]


def _breaking(record: JobRecord, job: CompiledJob) -> bool:
    if retyped(record.spec.get("columns", {}), job.column_types):
        return True
    if record.query_fingerprint == job.query_fingerprint:
        return False
    old = _stream_queries(record.spec["ddl"])
    new = {stream.name: stream.sql for stream in job.streams}
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
