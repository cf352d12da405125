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
   - rebuild  by default, blue/green (bluegreen.py): the new version is built beside the live tables with
              its dependants and swapped in once caught up, nothing is ever cleared; in place (`--in-place`,
              `--full-refresh`, or a set that cannot be built beside): old job cancelled, its slots dropped,
              the table cleared with DELETEs (readers of its binlog retract) or, with --full-refresh, dropped
              and recreated; a clean job started;
   - remove   (full runs only) job cancelled, slots and publications dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Set
from dataclasses import asdict, dataclass
from typing import Any

from psycopg import sql

from warehouse.catalog import Catalog, TableChange
from warehouse.compiler import CompiledJob, Compiler, Slot
from warehouse.errors import FlinkError, WarehouseError
from warehouse.http import root_cause
from warehouse.identifiers import pg
from warehouse.lifecycle.bluegreen import REPLACED_UPSTREAM, BlueGreen, is_next_version, remove_next_version
from warehouse.lifecycle.engine import Engine, JobSpec
from warehouse.lifecycle.observe import Observation, RetainedCheckpoints, observe
from warehouse.lifecycle.plan import (
    Plan,
    Step,
    beside_steps,
    indirect_steps,
    make_step,
    rebuilding,
    removed_step,
    stream_queries,
)
from warehouse.lifecycle.recover import LIFECYCLE_LOCK
from warehouse.lifecycle.registry import JobRecord, Registry
from warehouse.lifecycle.snapshot import await_history, release_held_watermarks
from warehouse.lifecycle.validate import explain
from warehouse.project import DbtProject, Model, Table
from warehouse.store import connect, exclusive

Progress = Callable[[str], None]
VALIDATED = ("start", "resume", "upgrade", "rebuild")


@dataclass(frozen=True)
class Action:
    model: str
    action: str  # started | unchanged | upgraded | rebuilt | restarted | resumed | stopped | removed
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
        self.histories: set[str] = set()  # the jobs this run waited for until their snapshot was read
        self.without_snapshot_metrics: set[str] = set()  # jobs started clean whose readers report no snapshot

    # ---- compile and decide ---------------------------------------------------------------------
    def compile(self, unique_ids: list[str]) -> list[CompiledJob]:
        """Each model's job as if it ran alone (what `compile` writes, what unit tests and lineage read)."""
        compiled = self.project.compile(unique_ids)
        return [self.compiler.compile(self.project.models[uid], compiled[uid]) for uid in unique_ids]

    def jobs(
        self,
        unique_ids: list[str] | None = None,
        alone: list[CompiledJob] | None = None,
        slot_sets: dict[str, str] | None = None,
    ) -> list[CompiledJob]:
        """The jobs that run the given models (all when None), each with every model of its group. Grouping needs
        every model of the project compiled alone: `alone`, when the caller has compiled them all already.
        `slot_sets`: job name -> the slot set its running job uses (from the registry; default the first)."""
        everything = self.project.select(None)
        if alone is None or {job.model.unique_id for job in alone} != set(everything):
            alone = self.compile(everything)
        return self._running(self.compiler.group(alone, slot_sets), unique_ids)

    def _running(self, grouped: list[CompiledJob], unique_ids: list[str] | None) -> list[CompiledJob]:
        """The jobs of `grouped` that run any of the given models (all when None)."""
        if unique_ids is None:
            return grouped
        wanted = {self.project.models[uid].name for uid in unique_ids}
        return [job for job in grouped if wanted & {model.name for model in job.models}]

    def observe(self, record: JobRecord | None) -> Observation:
        return observe(record, self.engine.jobmanager, self.checkpoints)

    def plan(self, selector: str | None, full_refresh: bool = False, in_place: bool = False) -> Plan:
        """`in_place`: rebuild changed jobs in place (cleared, recomputed) instead of blue/green beside them."""
        selected = self.project.select(selector)
        targets = self.project.downstream(selected) if full_refresh else selected
        self.progress(f"compiling {len(targets)} model(s)")
        records = self.registry.all()
        slot_sets = {name: str(record.spec.get("slot_set", "")) for name, record in records.items()}
        everything = self.jobs(None, slot_sets=slot_sets)
        jobs = self._running(everything, targets)
        previous = {model: fp for record in records.values() for model, fp in record.member_queries().items()}
        refreshed = {self.project.models[uid].name for uid in targets} if full_refresh else set()
        steps = [self._step(job, records.get(job.name), refreshed, previous) for job in jobs]
        if not (in_place or full_refresh):
            steps = self._beside(steps, everything, records, previous)
        steps += indirect_steps(steps, self._dependants(rebuilding(steps)))
        return Plan(selector, full_refresh, self._retired(records, jobs, full=not selector) + steps, in_place)

    def _beside(
        self, steps: list[Step], everything: list[CompiledJob], records: dict[str, JobRecord], previous: dict[str, str]
    ) -> list[Step]:
        """Blue/green: the jobs rebuilt, and every job downstream of them, rebuilt beside their live tables."""
        rebuilt = [m for s in steps if s.decision.action == "rebuild" and s.record and s.clears for m in s.members]
        if not rebuilt:
            return steps
        dependants = set(self._dependants(rebuilt))
        uids = [uid for uid, model in self.project.models.items() if model.name in dependants]
        planned = {step.name for step in steps}
        downstream = [job for job in self._running(everything, uids) if job.name not in planned]
        extra = [self._step(job, records.get(job.name), set(), previous) for job in downstream]
        return beside_steps(steps, [s for s in extra if s.record is not None], [job.name for job in everything])

    def _retired(self, records: dict[str, JobRecord], jobs: list[CompiledJob], full: bool) -> list[Step]:
        """Recorded jobs the plan replaces (their models run in a planned job of another name now) or, for a
        whole-project plan, whose models all left the project."""
        runs = {model.name: job.name for job in jobs for model in job.models}
        names = {model.name for model in self.project.models.values()}
        planned, steps = {job.name for job in jobs}, []
        for record in records.values():
            if record.job in planned:
                continue
            successor = next((runs[m] for m in record.members if m in runs), None)
            if successor or (full and not names & set(record.members)):
                steps.append(removed_step(record, successor))
        return steps

    def _step(self, job: CompiledJob, record: JobRecord | None, refreshed: set[str], previous: dict[str, str]) -> Step:
        tables = {model.name: self.catalog.inspect(model) for model in job.models}
        sources = self.catalog.source_mismatches(self.sources_of(job))
        return make_step(job, record, self.observe(record), tables, refreshed, sources, previous)

    def sources_of(self, job: CompiledJob) -> list[Table]:
        """The OLTP source tables the job reads by CDC."""
        read = {(slot.database, slot.schema, table) for slot in job.slots for table in slot.tables}
        return [t for t in self.project.sources.values() if (t.database, t.schema, t.name) in read]

    def _dependants(self, names: list[str]) -> list[str]:
        uids = [uid for uid, model in self.project.models.items() if model.name in names]
        return [self.project.models[uid].name for uid in self.project.downstream(uids) if uid not in uids]

    # ---- run ------------------------------------------------------------------------------------
    def run(
        self,
        selector: str | None,
        full_refresh: bool = False,
        reviewed: dict[str, Any] | None = None,
        in_place: bool = False,
        deploy: BlueGreen | None = None,
    ) -> list[Action]:
        """`deploy`: how blue/green deploys wait (lag bound, timeout); the defaults of bluegreen.py otherwise."""
        plan = self.plan(selector, full_refresh, in_place)
        if reviewed is not None:
            _require_unchanged(plan, reviewed)
        _refuse(plan)
        self._validate(plan)
        self.started_clean, self.histories, self.without_snapshot_metrics = {}, set(), set()
        ordered = [s for s in plan.steps if s.kind == "removed"] + [s for s in plan.steps if s.job is not None]
        deploy = deploy or BlueGreen(self)
        actions: list[Action] = []
        for number, step in enumerate(ordered):
            if step.beside:
                actions += self._deploy(deploy, step, ordered[number + 1 :], actions)
            else:
                actions += self._apply(step, full_refresh)
        return actions

    def _deploy(self, deploy: BlueGreen, step: Step, later: list[Step], done: list[Action]) -> list[Action]:
        """One job of a blue/green set. If it fails after an upstream job of the set was swapped, the jobs of the
        set still to go are marked: their live versions read a table that moved on, the next `run` rebuilds them."""
        assert step.job is not None and step.record is not None
        try:
            return deploy.deploy(step.job, step.record)
        except WarehouseError as failed:
            if not any(action.action == "swapped" for action in done):
                raise
            stale = [step.record, *(s.record for s in later if s.beside and s.record)]
            for record in stale:
                if record is not None:
                    record.spec[REPLACED_UPSTREAM] = True
                    self.registry.save(record)
            names = ", ".join(record.job for record in stale if record is not None)
            rerun = "the next `warehouse run` rebuilds them beside again"
            raise WarehouseError(
                f"{failed.message}. Upstream jobs of the deploy were swapped already; job(s) {names} keep serving "
                "their previous rows, paused",
                hint=f"{failed.hint}; {rerun}" if failed.hint else rerun,
            ) from None

    def _validate(self, plan: Plan) -> None:
        """Flink's planner must accept every new or changed job before anything running is touched."""
        for step in plan.steps:
            if step.job is not None and step.action in VALIDATED and (step.kind != "unchanged" or step.beside):
                self.progress(f"{step.name}: validating the new job with Flink's planner")
                explain(self.engine.gateway.open_session, step.job)

    def _apply(self, step: Step, full_refresh: bool) -> list[Action]:
        if step.kind == "removed":
            return [self._remove(step)]
        job, decision = step.job, step.decision
        assert job is not None
        if decision.action == "rebuild" and step.record is not None:
            self.retire(step.record)
        rebuilt = {name for name in step.clears if full_refresh}  # dropped and recreated; the others kept
        changes = self.sync_tables(job, rebuilt=rebuilt)
        if decision.action == "keep":
            job_id = step.record.job_id if step.record else None
            self.progress(f"{job.name}: unchanged, job {job_id} keeps running")
            return [Action(name, "unchanged", job_id, _table_detail(changes[name])) for name in changes]
        if decision.action == "resume" and decision.restore_from:
            return self._start_from(job, decision.restore_from, "resumed", decision.reason)
        if decision.action == "upgrade" and step.record is not None:
            return self._upgrade(job, step.record, decision.reason)
        return self._start_clean(job, step, changes)

    def _start_clean(self, job: CompiledJob, step: Step, changes: dict[str, TableChange]) -> list[Action]:
        for model in job.models:
            if model.name in step.clears:
                self.catalog.clear(model)
        self.prepare_slots(job.slots)
        self._await_upstream_history(job)
        job_id = self.submit(job.spec(), None)
        self.record(job, job_id)
        self.started_clean.update({model.name: job_id for model in job.models})
        if job.mysql_reads:
            self.without_snapshot_metrics.add(job_id)
        actions = [self._clean_action(step, name, job_id, changes[name]) for name in step.members]
        for action in actions:
            self.progress(f"{action.model}: {action.action} in job {job.name} ({job_id}) {action.detail}".rstrip())
        metrics = job_id not in self.without_snapshot_metrics
        if job.event_time and await_history(self.engine.jobmanager, job_id, job.name, self.progress, metrics=metrics):
            release_held_watermarks(job, self.engine.store, self.progress)
        return actions

    def sync_tables(
        self, job: CompiledJob, place: Callable[[Model], Model] = lambda model: model, rebuilt: Set[str] = frozenset()
    ) -> dict[str, TableChange]:
        """Create or evolve the job's tables (where `place` puts them; `rebuilt`: dropped and recreated first), with
        the delete trigger of each partial-update table."""
        changes = {m.name: self.catalog.sync(place(m), rebuild=m.name in rebuilt) for m in job.models}
        for member in job.members:
            if member.model.materialized == "partial_update":
                streams = {s.name: s.columns for s in member.streams}
                self.catalog.partial_update_trigger(place(member.model), streams)
        return changes

    @staticmethod
    def _clean_action(step: Step, model: str, job_id: str, change: TableChange) -> Action:
        """started (a new table), rebuilt (cleared: its queries or an upstream's in the job changed), or
        restarted (recomputed in place: the job restarted without state, its rows stay)."""
        if change.action == "created":
            return Action(model, "started", job_id, _table_detail(change))
        if model in step.clears:
            return Action(model, "rebuilt", job_id, step.reason)
        return Action(model, "restarted", job_id, f"recomputed in place: job {step.name} restarted clean")

    def _await_upstream_history(self, job: CompiledJob) -> None:
        """A job starts once the tables it windows over (see snapshot.py) or looks up hold their whole history:
        an upstream job started clean by this run must have read and flushed its snapshot first (else a window
        would see history as late rows, and a lookup would miss rows that are on their way)."""
        for table in [read.table.name for read in job.event_time] + job.lookups:
            upstream = self.started_clean.get(table)
            if upstream and upstream not in self.histories:
                metrics = upstream not in self.without_snapshot_metrics
                await_history(self.engine.jobmanager, upstream, table, self.progress, metrics=metrics)
                self.histories.add(upstream)

    def _start_from(self, job: CompiledJob, restore_from: str, action: str, detail: str) -> list[Action]:
        self._ensure_publications(job.slots)
        job_id = self.submit(job.spec(), restore_from)
        self.record(job, job_id)
        self.progress(f"{job.name}: {action} job {job_id} ({detail})")
        return [Action(model.name, action, job_id, detail) for model in job.models]

    def _upgrade(self, job: CompiledJob, record: JobRecord, reason: str) -> list[Action]:
        savepoint = self.stop_record(record)
        try:
            return self._start_from(job, savepoint, "upgraded", reason)
        except FlinkError as failed:
            job_id = self.restart_record(record, savepoint)
            raise FlinkError(
                f"the new version of job {job.name} did not start ({failed.message}); "
                f"the previous job was resumed from {savepoint} as {job_id}",
                hint=failed.hint,
            ) from None

    def submit(self, spec: JobSpec, restore_from: str | None) -> str:
        """Start the job, wait until it runs (or failed on start, which raises)."""
        try:
            job_id = self.engine.submit(spec, restore_from)
        except FlinkError as exc:
            raise FlinkError(
                f"Flink rejected job {spec.name}: {exc.message}",
                hint=f"see target/warehouse/{spec.name}.sql (`warehouse compile`); fix the model and run again",
            ) from None
        with contextlib.suppress(FlinkError):  # still starting: reported by `warehouse status`
            self.engine.jobmanager.wait_for_state(job_id, {"RUNNING", "FAILED", "FINISHED"}, timeout=120)
        if self.engine.jobmanager.state(job_id) == "FAILED":
            cause = root_cause(self.engine.jobmanager.exceptions(job_id))
            raise FlinkError(f"job {spec.name} failed on start: {cause}", hint="see the model and `warehouse status`")
        return job_id

    def record(
        self, job: CompiledJob, job_id: str, key: str | None = None, beside: dict[str, Any] | None = None
    ) -> None:
        """Record the running job (under `key`, default its name; `beside`: a blue/green deploy's new version)."""
        self.registry.save(self.record_of(job, job_id, key=key, beside=beside))

    def record_of(
        self,
        job: CompiledJob,
        job_id: str | None,
        status: str = "running",
        savepoint: str | None = None,
        key: str | None = None,
        beside: dict[str, Any] | None = None,
    ) -> JobRecord:
        spec: dict[str, Any] = {"ddl": list(job.ddl), "inserts": list(job.inserts), "settings": job.settings}
        spec["columns"] = job.column_types
        spec["members"] = [model.name for model in job.models]
        spec["queries"] = {m.model.name: m.query_fingerprint for m in job.members}
        spec["streams"] = stream_queries(job)
        spec["fused"] = job.fused
        spec["slot_set"] = job.slot_set
        if beside is not None:
            spec["beside"] = beside
        slots = [asdict(slot) for slot in job.slots]
        name = key or job.name
        return JobRecord(name, job.fingerprint, job.query_fingerprint, job_id, status, savepoint, slots, spec)

    # ---- slots and publications -----------------------------------------------------------------
    def prepare_slots(self, slots: list[Slot]) -> None:
        """A clean start inherits nothing: no old slot position, no publication of a dropped table."""
        self.drop_slots([asdict(slot) for slot in slots])
        self._ensure_publications(slots)

    def _ensure_publications(self, slots: list[Slot]) -> None:
        for slot in slots:
            with connect(self.engine.store, database=slot.database) as conn:
                targets = [pg(slot.schema, table) for table in slot.tables]
                for target in targets:
                    conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(target))
                if not conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [slot.name]).fetchone():
                    tables = sql.SQL(", ").join(targets)
                    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE {}").format(pg(slot.name), tables))

    def drop_slots(self, slots: list[dict[str, str]]) -> None:
        """Drop recorded slots and their publications."""
        self.engine.remove(None, [slot["name"] for slot in slots])
        self.drop_publications(slots)

    def drop_publications(self, slots: list[dict[str, str]]) -> None:
        for slot in slots:
            with connect(self.engine.store, database=slot["database"]) as conn:
                conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(pg(slot["name"])))

    def retire(self, record: JobRecord) -> None:
        """Cancel the job (if the cluster still has it) and drop its slots and publications."""
        running = self.observe(record).state == "RUNNING"
        self.engine.remove(record.job_id if running else None, [slot["name"] for slot in record.slots])
        self.drop_publications(record.slots)

    def _remove(self, step: Step) -> Action:
        assert step.record is not None
        if is_next_version(step.record):
            remove_next_version(self, step.record)
        else:
            self.retire(step.record)
            self.registry.delete(step.name)
        self.progress(f"job {step.name}: {step.reason} ({step.record.job_id})")
        return Action(step.name, "removed", step.record.job_id, step.reason)

    # ---- stop / resume --------------------------------------------------------------------------
    def stop(self, selector: str | None) -> list[Action]:
        with exclusive(self.engine.store, LIFECYCLE_LOCK):
            return self._stop_selected(selector)

    def _stop_selected(self, selector: str | None) -> list[Action]:
        actions = []
        for record in reversed(self._selected_records(selector)):
            if self.observe(record).state == "RUNNING":
                savepoint = self.stop_record(record)
                actions += [Action(model, "stopped", record.job_id, savepoint) for model in record.members]
        return actions

    def _selected_records(self, selector: str | None) -> list[JobRecord]:
        """The recorded jobs running any selected model, in the order of their first selected model."""
        records = list(self.registry.all().values())
        found: list[JobRecord] = []
        for uid in self.project.select(selector):
            name = self.project.models[uid].name
            found += [r for r in records if name in r.members and r not in found]
        return found

    def resume(self, selector: str | None) -> list[Action]:
        """Restart each selected job that is not running, as it was, from its savepoint or latest checkpoint."""
        with exclusive(self.engine.store, LIFECYCLE_LOCK):
            return self._resume_selected(selector)

    def _resume_selected(self, selector: str | None) -> list[Action]:
        actions = []
        for record in self._selected_records(selector):
            observation = self.observe(record)
            if observation.state not in ("RUNNING", "UNREACHABLE") and observation.restore_point:
                job_id = self.restart_record(record, observation.restore_point)
                self.progress(f"{record.job}: resumed job {job_id} from {observation.restore_point}")
                actions += [Action(m, "resumed", job_id, observation.restore_point) for m in record.members]
        return actions

    def restart_record(self, record: JobRecord, savepoint: str) -> str:
        """Start the recorded job as it was, from `savepoint`; record it running."""
        job_id = self.submit(record.job_spec(), savepoint)
        record.job_id, record.status, record.savepoint = job_id, "running", None
        self.registry.save(record)
        return job_id

    def stop_record(self, record: JobRecord) -> str:
        """Stop the recorded job with a savepoint; record it stopped."""
        assert record.job_id
        self.progress(f"{record.job}: stopping job {record.job_id} with a savepoint")
        savepoint = self.engine.stop(record.job_id)
        record.status, record.savepoint = "stopped", savepoint
        self.registry.save(record)
        return savepoint


def _refuse(plan: Plan) -> None:
    refused = plan.refusals
    if refused:
        reasons = "; ".join(f"job {step.name} ({', '.join(_paths(step))}): {step.reason}" for step in refused)
        hints = {step.decision.hint for step in refused if step.decision.hint}
        raise WarehouseError(f"run refused, nothing was changed: {reasons}", hint="; ".join(sorted(hints)) or None)


def _paths(step: Step) -> list[str]:
    return [model.path for model in step.job.models] if step.job else ["registry"]


def _table_detail(change: TableChange) -> str:
    return f"table {change.action}: {change.detail}" if change.detail else ""


def _require_unchanged(plan: Plan, reviewed: dict[str, Any]) -> None:
    differences = plan.differences(reviewed)
    if differences:
        shown = "; ".join(differences[:5]) + (f"; and {len(differences) - 5} more" if len(differences) > 5 else "")
        raise WarehouseError(
            f"the project or the running jobs moved since the plan was reviewed: {shown}",
            hint="review a fresh `warehouse plan --out FILE` and run that",
        )
