"""`warehouse run / stop / resume`: compile, decide, apply, upstream first.

`run` builds the plan that `warehouse plan` shows (plan.py: compile each selected model, observe its
recorded job, inspect its table, decide), and then
1. refuses, changing nothing, when any step is refused (or a reviewed plan no longer holds);
2. asks Flink's planner to validate every new or changed job (EXPLAIN), changing nothing if one fails;
3. applies the steps, upstream first:
   - start    table created, job started;
   - keep     nothing (the job id stays); a new nullable column is still added to the table;
   - resume   the job started from its savepoint or latest retained checkpoint (with the change, if any);
   - upgrade  stop with a savepoint, start the new job from it; if the new job cannot start, the old
              one is resumed from that savepoint and the error says so;
   - rebuild  old job cancelled, its slots dropped, the table cleared with DELETEs (readers of its
              binlog retract) or, with --full-refresh, dropped and recreated; a clean job started;
   - remove   (full runs only) job cancelled, slots and publications dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from psycopg import sql

from warehouse.catalog import Catalog
from warehouse.compiler import CompiledJob, Compiler, Slot
from warehouse.errors import FlinkError, WarehouseError
from warehouse.http import root_cause
from warehouse.identifiers import pg
from warehouse.lifecycle.engine import Engine, JobSpec
from warehouse.lifecycle.observe import Observation, RetainedCheckpoints, observe
from warehouse.lifecycle.plan import Plan, Step, indirect_steps, make_step, rebuilding, removed_step
from warehouse.lifecycle.recover import LIFECYCLE_LOCK
from warehouse.lifecycle.registry import JobRecord, Registry
from warehouse.lifecycle.snapshot import await_history, release_held_watermarks
from warehouse.lifecycle.validate import explain
from warehouse.project import DbtProject, Table
from warehouse.store import connect, exclusive

Progress = Callable[[str], None]
VALIDATED = ("start", "resume", "upgrade", "rebuild")


@dataclass(frozen=True)
class Action:
    model: str
    action: str  # started | unchanged | upgraded | rebuilt | resumed | stopped | removed
    job_id: str | None = None
    detail: str = ""


class Lifecycle:
    def __init__(
        self,
        project: DbtProject,
        compiler: Compiler,
        catalog: Catalog,
        engine: Engine,
        registry: Registry,
        checkpoints: RetainedCheckpoints,
        progress: Progress,
    ) -> None:
        self.project = project
        self.compiler = compiler
        self.catalog = catalog
        self.engine = engine
        self.registry = registry
        self.checkpoints = checkpoints
        self.progress = progress
        self.started_clean: dict[str, str] = {}  # model -> job id, for the jobs this run started clean

    # ---- compile and decide ---------------------------------------------------------------------
    def compile(self, unique_ids: list[str]) -> list[CompiledJob]:
        compiled = self.project.compile(unique_ids)
        return [self.compiler.compile(self.project.models[uid], compiled[uid]) for uid in unique_ids]

    def observe(self, record: JobRecord | None) -> Observation:
        return observe(record, self.engine.jobmanager, self.checkpoints)

    def plan(self, selector: str | None, full_refresh: bool = False) -> Plan:
        selected = self.project.select(selector)
        targets = self.project.downstream(selected) if full_refresh else selected
        self.progress(f"compiling {len(targets)} model(s)")
        records = self.registry.all()
        steps = [self._step(job, records.get(job.model.name), full_refresh) for job in self.compile(targets)]
        steps += indirect_steps(steps, self._dependants(rebuilding(steps)))
        if not selector:
            names = {model.name for model in self.project.models.values()}
            steps += [removed_step(record) for name, record in records.items() if name not in names]
        return Plan(selector, full_refresh, steps)

    def _step(self, job: CompiledJob, record: JobRecord | None, full_refresh: bool) -> Step:
        table, sources = self.catalog.inspect(job.model), self.catalog.source_mismatches(self.sources_of(job))
        return make_step(job, record, self.observe(record), table, full_refresh, sources)

    def sources_of(self, job: CompiledJob) -> list[Table]:
        """The OLTP source tables the job reads by CDC."""
        read = {(slot.database, slot.schema, slot.table) for slot in job.slots}
        return [t for t in self.project.sources.values() if (t.database, t.schema, t.name) in read]

    def _dependants(self, names: list[str]) -> list[str]:
        uids = [uid for uid, model in self.project.models.items() if model.name in names]
        return [self.project.models[uid].name for uid in self.project.downstream(uids) if uid not in uids]

    # ---- run ------------------------------------------------------------------------------------
    def run(
        self, selector: str | None, full_refresh: bool = False, reviewed: dict[str, Any] | None = None
    ) -> list[Action]:
        plan = self.plan(selector, full_refresh)
        if reviewed is not None:
            _require_unchanged(plan, reviewed)
        _refuse(plan)
        self._validate(plan)
        self.started_clean = {}
        ordered = [s for s in plan.steps if s.kind == "removed"] + [s for s in plan.steps if s.job is not None]
        return [self._apply(step, full_refresh) for step in ordered]

    def _validate(self, plan: Plan) -> None:
        """Flink's planner must accept every new or changed job before anything running is touched."""
        for step in plan.steps:
            if step.job is not None and step.action in VALIDATED and step.kind != "unchanged":
                self.progress(f"{step.model}: validating the new job with Flink's planner")
                explain(self.engine.gateway.open_session, step.job)

    def _apply(self, step: Step, full_refresh: bool) -> Action:
        if step.kind == "removed":
            return self._remove(step)
        job, decision = step.job, step.decision
        assert job is not None
        if decision.action == "rebuild" and step.record is not None:
            self._retire(step.record)
        change = self.catalog.sync(job.model, rebuild=full_refresh)
        if job.model.materialized == "partial_update":
            self.catalog.partial_update_trigger(job.model, {s.name: s.columns for s in job.streams})
        if decision.action == "keep":
            detail = f"table {change.action}: {change.detail}" if change.detail else ""
            self.progress(f"{job.model.name}: unchanged, job {step.record and step.record.job_id} keeps running")
            return Action(job.model.name, "unchanged", step.record.job_id if step.record else None, detail)
        if decision.action == "resume" and decision.restore_from:
            return self._start_from(job, decision.restore_from, "resumed", decision.reason)
        if decision.action == "upgrade" and step.record is not None:
            return self._upgrade(job, step.record, decision.reason)
        action = "started" if decision.action == "start" else "rebuilt"
        return self._start_clean(job, action, change.detail if action == "started" else decision.reason)

    def _start_clean(self, job: CompiledJob, action: str, detail: str) -> Action:
        self.catalog.clear(job.model)  # a clean job re-snapshots everything
        self._prepare_slots(job.slots)
        self._await_upstream_history(job)
        job_id = self._submit(job.spec(), None)
        self._save(job, job_id)
        self.started_clean[job.model.name] = job_id
        self.progress(f"{job.model.name}: {action} job {job_id} {detail}".rstrip())
        if job.event_time and await_history(self.engine.jobmanager, job_id, job.model.name, self.progress):
            release_held_watermarks(job, self.engine.store, self.progress)
        return Action(job.model.name, action, job_id, detail)

    def _await_upstream_history(self, job: CompiledJob) -> None:
        """An event-time job starts once the tables it windows over hold their whole history (see snapshot.py):
        an upstream job started clean by this run must have read and flushed its snapshot first."""
        for read in job.event_time:
            upstream = self.started_clean.get(read.table.name)
            if upstream:
                await_history(self.engine.jobmanager, upstream, read.table.name, self.progress)

    def _start_from(self, job: CompiledJob, restore_from: str, action: str, detail: str) -> Action:
        self._ensure_publications(job.slots)
        job_id = self._submit(job.spec(), restore_from)
        self._save(job, job_id)
        self.progress(f"{job.model.name}: {action} job {job_id} ({detail})")
        return Action(job.model.name, action, job_id, detail)

    def _upgrade(self, job: CompiledJob, record: JobRecord, reason: str) -> Action:
        savepoint = self._stop(record)
        try:
            return self._start_from(job, savepoint, "upgraded", reason)
        except FlinkError as failed:
            job_id = self._submit(record.job_spec(), savepoint)
            record.job_id, record.status, record.savepoint = job_id, "running", None
            self.registry.save(record)
            raise FlinkError(
                f"the new job of {job.model.name} did not start ({failed.message}); "
                f"the previous job was resumed from {savepoint} as {job_id}",
                hint=failed.hint,
            ) from None

    def _submit(self, spec: JobSpec, restore_from: str | None) -> str:
        try:
            job_id = self.engine.submit(spec, restore_from)
        except FlinkError as exc:
            raise FlinkError(
                f"Flink rejected the job of model {spec.name}: {exc.message}",
                hint=f"see target/warehouse/{spec.name}.sql (`warehouse compile`); fix the model and run again",
            ) from None
        with contextlib.suppress(FlinkError):  # still starting: reported by `warehouse status`
            self.engine.jobmanager.wait_for_state(job_id, {"RUNNING", "FAILED", "FINISHED"}, timeout=120)
        if self.engine.jobmanager.state(job_id) == "FAILED":
            cause = root_cause(self.engine.jobmanager.exceptions(job_id))
            raise FlinkError(
                f"job of model {spec.name} failed on start: {cause}", hint="see the model and `warehouse status`"
            )
        return job_id

    def _save(self, job: CompiledJob, job_id: str) -> None:
        spec = {"ddl": list(job.ddl), "inserts": list(job.inserts), "settings": job.settings}
        spec["columns"] = job.column_types
        slots = [asdict(slot) for slot in job.slots]
        record = JobRecord(job.model.name, job.fingerprint, job.query_fingerprint, job_id, "running", None, slots, spec)
        self.registry.save(record)

    # ---- slots and publications -----------------------------------------------------------------
    def _prepare_slots(self, slots: list[Slot]) -> None:
        """A clean start inherits nothing: no old slot position, no publication of a dropped table."""
        self.engine.remove(None, [slot.name for slot in slots])
        self._drop_publications([asdict(slot) for slot in slots])
        self._ensure_publications(slots)

    def _ensure_publications(self, slots: list[Slot]) -> None:
        for slot in slots:
            with connect(self.engine.store, database=slot.database) as conn:
                target = pg(slot.schema, slot.table)
                conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(target))
                if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [slot.name]).fetchone():
                    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(pg(slot.name), target))

    def _drop_publications(self, slots: list[dict[str, str]]) -> None:
        for slot in slots:
            with connect(self.engine.store, database=slot["database"]) as conn:
                conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(pg(slot["name"])))

    def _retire(self, record: JobRecord) -> None:
        """Cancel the job (if the cluster still has it) and drop its slots and publications."""
        running = self.observe(record).state == "RUNNING"
        self.engine.remove(record.job_id if running else None, [slot["name"] for slot in record.slots])
        self._drop_publications(record.slots)

    def _remove(self, step: Step) -> Action:
        assert step.record is not None
        self._retire(step.record)
        self.registry.delete(step.model)
        self.progress(f"{step.model}: removed from the project; job {step.record.job_id} cancelled, slots dropped")
        return Action(step.model, "removed", step.record.job_id)

    # ---- stop / resume --------------------------------------------------------------------------
    def stop(self, selector: str | None) -> list[Action]:
        with exclusive(self.engine.store, LIFECYCLE_LOCK):
            return self._stop_selected(selector)

    def _stop_selected(self, selector: str | None) -> list[Action]:
        actions = []
        records = self.registry.all()
        for uid in reversed(self.project.select(selector)):
            record = records.get(self.project.models[uid].name)
            if record and self.observe(record).state == "RUNNING":
                savepoint = self._stop(record)
                actions.append(Action(record.model, "stopped", record.job_id, savepoint))
        return actions

    def resume(self, selector: str | None) -> list[Action]:
        """Restart each selected job that is not running, as it was, from its savepoint or latest checkpoint."""
        with exclusive(self.engine.store, LIFECYCLE_LOCK):
            return self._resume_selected(selector)

    def _resume_selected(self, selector: str | None) -> list[Action]:
        actions = []
        records = self.registry.all()
        for uid in self.project.select(selector):
            record = records.get(self.project.models[uid].name)
            observation = self.observe(record)
            if record and observation.state not in ("RUNNING", "UNREACHABLE") and observation.restore_point:
                job_id = self._submit(record.job_spec(), observation.restore_point)
                record.job_id, record.status, record.savepoint = job_id, "running", None
                self.registry.save(record)
                self.progress(f"{record.model}: resumed job {job_id} from {observation.restore_point}")
                actions.append(Action(record.model, "resumed", job_id, observation.restore_point))
        return actions

    def _stop(self, record: JobRecord) -> str:
        assert record.job_id
        self.progress(f"{record.model}: stopping job {record.job_id} with a savepoint")
        savepoint = self.engine.stop(record.job_id)
        record.status, record.savepoint = "stopped", savepoint
        self.registry.save(record)
        return savepoint


def _refuse(plan: Plan) -> None:
    refused = plan.refusals
    if refused:
        reasons = "; ".join(
            f"{step.model} ({step.job.model.path if step.job else 'registry'}): {step.reason}" for step in refused
        )
        hints = {step.decision.hint for step in refused if step.decision.hint}
        raise WarehouseError(f"run refused, nothing was changed: {reasons}", hint="; ".join(sorted(hints)) or None)


def _require_unchanged(plan: Plan, reviewed: dict[str, Any]) -> None:
    differences = plan.differences(reviewed)
    if differences:
        shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
        raise WarehouseError(
            f"the project or the running jobs moved since the plan was reviewed: {shown}",
            hint="review a fresh `warehouse plan --out FILE` and run that",
        )
