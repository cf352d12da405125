"""A plan: for every job that runs a selected model, the decision `run` will carry out and the facts it rests on.

A job runs the models of one job group (jobgroups.py); its decision covers all of them. A clean start of a
job clears only the tables that must be rebuilt: its models whose queries changed (or that are new) and the
models of the job downstream of those; its other models are recomputed in place (their rows do not change).

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
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from warehouse.catalog import TableChange
from warehouse.compiler import CompiledJob, job_script
from warehouse.errors import WarehouseError
from warehouse.flinksql import FlinkSQL
from warehouse.lifecycle.bluegreen import REPLACED_UPSTREAM, beside_blocker, is_next_version, own_binlog_reads
from warehouse.lifecycle.decide import Decision, Facts, decide
from warehouse.lifecycle.observe import Observation
from warehouse.lifecycle.registry import JobRecord

PLAN_FORMAT = 3  # 3: steps say whether they are rebuilt beside (blue/green), plans whether --in-place


@dataclass(frozen=True)
class Step:
    name: str  # the job's; for an `indirect` step, the model's
    kind: str  # new | changed | unchanged | indirect | removed
    decision: Decision
    job: CompiledJob | None = None
    record: JobRecord | None = None
    observation: Observation = field(default_factory=lambda: Observation("NONE"))
    tables: dict[str, TableChange] = field(default_factory=dict)  # model -> how its table would change
    breaking: bool | None = None
    diff: str = ""
    clears: tuple[str, ...] = ()  # the models whose tables a clean start of the job clears
    beside: bool = False  # rebuilt beside its live tables and swapped in (bluegreen.py), nothing cleared

    @property
    def members(self) -> list[str]:
        if self.job is not None:
            return [model.name for model in self.job.models]
        return self.record.members if self.record is not None else [self.name]

    @property
    def action(self) -> str:
        return "follow" if self.kind == "indirect" else self.decision.action

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def state_compatible(self) -> bool | None:
        return self.decision.state_compatible if self.kind == "changed" else None

    @property
    def starts_clean(self) -> bool:
        return self.decision.action in ("start", "rebuild")

    def reviewed(self) -> dict[str, Any]:
        """What must still hold when a reviewed plan is applied."""
        return {
            "job": self.name,
            "members": self.members,
            "kind": self.kind,
            "action": self.action,
            "destructive": self.decision.destructive,
            "restore_from": self.decision.restore_from,
            "clears": list(self.clears) if self.starts_clean and not self.beside else [],
            "beside": self.beside,
            "compiled": self.job.fingerprint if self.job else None,
            "recorded": self.record.fingerprint if self.record else None,
            "job_id": self.record.job_id if self.record else None,
            "observed": self.observation.state,
            "tables": {model: change.action for model, change in self.tables.items()},
        }


@dataclass(frozen=True)
class Plan:
    selector: str | None
    full_refresh: bool
    steps: list[Step]
    in_place: bool = False

    @property
    def refusals(self) -> list[Step]:
        return [step for step in self.steps if step.action == "refuse"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PLAN_FORMAT,
            "selector": self.selector,
            "full_refresh": self.full_refresh,
            "in_place": self.in_place,
            "steps": [step.reviewed() for step in self.steps],
        }

    def differences(self, reviewed: dict[str, Any]) -> list[str]:
        """How this (fresh) plan differs from a reviewed one; empty when it is the same plan."""
        before = {step.get("job"): step for step in reviewed.get("steps", [])}
        now = {step.name: step.reviewed() for step in self.steps}
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
    if record.spec.get(REPLACED_UPSTREAM):
        return "queries"
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
    tables: dict[str, TableChange],
    refreshed: Collection[str] = (),
    source_problems: list[str] | None = None,
    previous_queries: dict[str, str] | None = None,
) -> Step:
    """The decision for one compiled job, classified for review. `refreshed`: the models `--full-refresh`
    rebuilds (the selection and its dependants); `previous_queries`: model -> the fingerprint of its queries in
    the job that runs (ran) it, over all recorded jobs."""
    full_refresh = any(model.name in refreshed for model in job.models)
    facts = _facts(job, record, observation, tables, full_refresh, source_problems or [])
    decision = decide(facts)
    clears = tuple(cleared(job, previous_queries or {}, refreshed))
    step = Step(job.name, "new", decision, job, record, observation, tables, clears=clears)
    if record is None:
        return replace(step, diff=_diff("", job.script(), job.name))
    if facts.job_change == "none" and facts.table_change == "none":
        return replace(step, kind="unchanged")
    diff = _diff(job_script(record.spec["ddl"], record.spec["inserts"]), job.script(), job.name)
    return replace(step, kind="changed", breaking=_breaking(record, job), diff=diff)


def _facts(
    job: CompiledJob,
    record: JobRecord | None,
    observation: Observation,
    tables: dict[str, TableChange],
    full_refresh: bool,
    source_problems: list[str],
) -> Facts:
    incompatible = [f"{model}: {change.detail}" for model, change in tables.items() if change.kind == "incompatible"]
    kinds = {change.kind for change in tables.values()}
    return Facts(
        new=record is None,
        job_change="none" if record is None else job_change(job, record),  # type: ignore[arg-type]
        table_change="incompatible" if incompatible else "additive" if "additive" in kinds else "none",
        state=observation.state,
        restore_point=observation.restore_point,
        full_refresh=full_refresh,
        detail="; ".join(incompatible) if incompatible else observation.detail,
        source_problem="; ".join(source_problems),
    )


def cleared(job: CompiledJob, previous_queries: dict[str, str], refreshed: Collection[str] = ()) -> list[str]:
    """The models of a job whose tables a clean start clears: those `--full-refresh` rebuilds, those whose queries
    are new or changed, and the models of the job that read them (directly or through another member), whose
    state restarts empty too. The others are recomputed in place: same inputs, same queries, same rows."""
    changed = {m.model.name for m in job.members if previous_queries.get(m.model.name) != m.query_fingerprint}
    changed |= {model.name for model in job.models if model.name in refreshed}
    uids = {model.unique_id: model.name for model in job.models}
    for model in job.models:  # upstream first: a reader follows its upstream
        if any(uids.get(uid) in changed for uid in model.depends_on):
            changed.add(model.name)
    return [model.name for model in job.models if model.name in changed]


def indirect_steps(steps: list[Step], downstream: Iterable[str]) -> list[Step]:
    """Dependants of rebuilt or breaking changes that are not planned themselves: they follow through the binlog."""
    listed = {member for step in steps if step.kind != "unchanged" for member in step.members}
    decision = Decision(
        "keep", "an upstream table is rebuilt: its rows are recomputed through the binlog, the job keeps running"
    )
    return [Step(name, "indirect", decision) for name in downstream if name not in listed]


def removed_step(record: JobRecord, successor: str | None = None) -> Step:
    """A recorded job no longer in the plan: its models left the project, or run in job `successor` now, or it is
    the new version of a job whose blue/green deploy was interrupted."""
    why = f"its models now run in job {successor}" if successor else "no longer in the project"
    if is_next_version(record):
        why = f"an interrupted blue/green deploy of job {record.spec['beside']['replaces']}: its new version"
        decision = Decision("remove", f"{why} is removed with its shadow tables; the live version keeps serving")
        return Step(record.job, "removed", decision, record=record)
    decision = Decision("remove", f"{why}: job cancelled, slots dropped", destructive=successor is None)
    return Step(record.job, "removed", decision, record=record)


def beside_steps(steps: list[Step], downstream: list[Step], order: list[str]) -> list[Step]:
    """The plan with its deploy set rebuilt beside the live tables (bluegreen.py): each recorded job that starts
    clean and clears a table (one recomputed in place keeps its rows: it needs no blue/green), and `downstream`
    (the jobs reading their tables, each step as planned), merged in `order` (job names, upstream first). When one
    of them cannot be built beside its live version, the plan is unchanged (rebuilt in place) and says why."""
    roots = [s for s in steps if s.decision.action == "rebuild" and s.record is not None and s.clears]
    if not roots:
        return steps
    members = [*roots, *downstream]
    blockers = [beside_blocker(s.name, s.observation.state, own_binlog_reads(s.job) if s.job else []) for s in members]
    blocker = next((b for b in blockers if b), "")
    if blocker:
        note = f" (in place, not blue/green: {blocker})"
        noted = [replace(s, decision=replace(s.decision, reason=s.decision.reason + note)) for s in roots]
        return [noted[roots.index(s)] if s in roots else s for s in steps]
    set_names = {s.name for s in members}
    merged = steps + [s for s in downstream if s.name not in {t.name for t in steps}]
    merged.sort(key=lambda s: order.index(s.name) if s.name in order else -1)
    return [_beside(s) if s.name in set_names else s for s in merged]


def _beside(step: Step) -> Step:
    if step.decision.action == "rebuild":
        reason = step.decision.reason.split(":")[0] + ": rebuilt beside the live tables, swapped in when caught up"
    else:
        reason = "reads a table rebuilt beside: rebuilt beside its live tables too, swapped in after it"
    kind = step.kind if step.kind != "unchanged" else "downstream"
    return replace(step, kind=kind, beside=True, decision=Decision("rebuild", reason))


def rebuilding(steps: list[Step]) -> list[str]:
    """Models whose rows may change wholesale: their dependants are affected."""
    found = []
    for step in steps:
        if step.breaking:
            found += step.members
        elif step.starts_clean:
            found += list(step.clears)
    return found


def _breaking(record: JobRecord, job: CompiledJob) -> bool:
    if retyped(record.spec.get("columns", {}), job.column_types):
        return True
    if record.query_fingerprint == job.query_fingerprint:
        return False
    old = record.spec.get("streams", {})
    new = stream_queries(job)
    if set(old) != set(new):
        return True
    return any(set(old[model]) != set(new[model]) for model in new) or any(
        not _only_adds_columns(old[model][name], sql) for model in new for name, sql in new[model].items()
    )


def stream_queries(job: CompiledJob) -> dict[str, dict[str, str]]:
    """Model -> stream -> its SELECT: what the registry keeps to tell a breaking change."""
    return {m.model.name: {stream.name: stream.sql for stream in m.streams} for m in job.members}


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
