"""`warehouse run / stop / resume`: reconcile the running jobs with the project.

For each selected model, upstream first:
- new                                  -> table created, job started;
- unchanged and running                -> left alone (same job id);
- changed, same queries (state-compatible)   -> stopped with a savepoint, restarted from it;
- changed queries (state-incompatible) -> old job cancelled, its slots dropped, the table cleared with
  DELETEs (so readers of its binlog retract), a clean job started;
- `--full-refresh`                     -> table dropped and recreated, with its dependants;
- in the registry but gone from the project (full runs only) -> job cancelled, slots dropped.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass

from psycopg import sql

from warehouse.catalog import Catalog
from warehouse.compiler import Compiler, JobPlan, Slot
from warehouse.decisions import decide
from warehouse.engine import Engine, JobSpec
from warehouse.errors import FlinkError
from warehouse.http import root_cause
from warehouse.identifiers import pg
from warehouse.project import DbtProject
from warehouse.registry import JobRecord, Registry
from warehouse.store import connect

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Action:
    model: str
    action: str  # started | unchanged | upgraded | rebuilt | restarted | resumed | stopped | removed
    job_id: str | None = None
    detail: str = ""


class Runner:
    def __init__(
        self,
        project: DbtProject,
        compiler: Compiler,
        catalog: Catalog,
        engine: Engine,
        registry: Registry,
        progress: Progress,
    ) -> None:
        self.project = project
        self.compiler = compiler
        self.catalog = catalog
        self.engine = engine
        self.registry = registry
        self.progress = progress

    # ---- planning -------------------------------------------------------------------------------
    def plans(self, unique_ids: list[str]) -> list[JobPlan]:
        compiled = self.project.compile(unique_ids)
        return [self.compiler.plan(self.project.models[uid], compiled[uid]) for uid in unique_ids]

    # ---- run ------------------------------------------------------------------------------------
    def run(self, selector: str | None, full_refresh: bool = False) -> list[Action]:
        selected = self.project.select(selector)
        targets = self.project.downstream(selected) if full_refresh else selected
        self.progress(f"compiling {len(targets)} model(s)")
        plans = self.plans(targets)
        records = self.registry.all()
        actions = [] if selector else self._remove_missing(records)
        for plan in plans:
            actions.append(self._reconcile(plan, records.get(plan.model.name), full_refresh))
        return actions

    def _reconcile(self, plan: JobPlan, record: JobRecord | None, full_refresh: bool) -> Action:
        model = plan.model
        change = self.catalog.sync(model, rebuild=full_refresh)
        if model.materialized == "partial_update":
            self.catalog.partial_update_trigger(model, {s.name: s.columns for s in plan.streams})
        decision = decide(plan, record, self.job_state(record), full_refresh)
        if decision.action == "keep" and record is not None:
            self.progress(f"{model.name}: unchanged, job {record.job_id} keeps running")
            return Action(model.name, "unchanged", record.job_id)
        if decision.action == "resume" and record is not None and record.savepoint:
            return self._start_from(plan, record.savepoint, "resumed", decision.reason)
        if decision.action == "upgrade" and record is not None:
            return self._start_from(plan, self._stop(record), "upgraded", decision.reason)
        if decision.action == "start":
            return self._start_clean(plan, record, "started", change.detail)
        return self._start_clean(plan, record, "rebuilt", decision.reason)

    def job_state(self, record: JobRecord | None) -> str:
        if record is None or not record.job_id:
            return "NONE"
        try:
            return self.engine.jobmanager.state(record.job_id)
        except FlinkError:
            return "UNKNOWN"  # e.g. the cluster was restarted and forgot the job

    def _start_clean(self, plan: JobPlan, record: JobRecord | None, action: str, detail: str) -> Action:
        if record is not None:
            self._retire(record)
        self.catalog.clear(plan.model)  # a clean job re-snapshots everything
        self._prepare_slots(plan.slots)
        job_id = self._submit(plan.spec(), None)
        self._save(plan, job_id)
        self.progress(f"{plan.model.name}: {action} job {job_id} {detail}".rstrip())
        return Action(plan.model.name, action, job_id, detail)

    def _start_from(self, plan: JobPlan, savepoint: str, action: str, detail: str) -> Action:
        self._ensure_publications(plan.slots)
        job_id = self._submit(plan.spec(), savepoint)
        self._save(plan, job_id)
        self.progress(f"{plan.model.name}: {action} job {job_id} ({detail})")
        return Action(plan.model.name, action, job_id, detail)

    def _submit(self, spec: JobSpec, savepoint: str | None) -> str:
        try:
            job_id = self.engine.submit(spec, savepoint)
        except FlinkError as exc:
            raise FlinkError(
                f"Flink rejected the job of model {spec.name}: {exc.message}",
                hint=f"see target/warehouse/{spec.name}.sql (`warehouse compile`); fix the model and run again",
            ) from None
        with contextlib.suppress(FlinkError):  # still starting: reported by `warehouse status`
            self.engine.jobmanager.wait_for_state(job_id, {"RUNNING", "FAILED", "FINISHED"}, timeout=120)
        state = self.engine.jobmanager.state(job_id)
        if state == "FAILED":
            cause = root_cause(self.engine.jobmanager.exceptions(job_id))
            raise FlinkError(
                f"job of model {spec.name} failed on start: {cause}", hint="see the model and `warehouse status`"
            )
        return job_id

    def _save(self, plan: JobPlan, job_id: str) -> None:
        spec = {"ddl": list(plan.ddl), "inserts": list(plan.inserts), "settings": plan.settings}
        self.registry.save(
            JobRecord(
                plan.model.name,
                plan.fingerprint,
                plan.query_fingerprint,
                job_id,
                "running",
                None,
                [asdict(slot) for slot in plan.slots],
                spec,
            )
        )

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
        """Cancel the job and drop its slots and publications."""
        state = self.job_state(record)
        self.engine.remove(
            record.job_id if state not in ("NONE", "UNKNOWN") else None, [slot["name"] for slot in record.slots]
        )
        self._drop_publications(record.slots)

    def _remove_missing(self, records: dict[str, JobRecord]) -> list[Action]:
        names = {model.name for model in self.project.models.values()}
        actions = []
        for name, record in records.items():
            if name not in names:
                self._retire(record)
                self.registry.delete(name)
                self.progress(f"{name}: removed from the project; job {record.job_id} cancelled, slots dropped")
                actions.append(Action(name, "removed", record.job_id))
        return actions

    # ---- stop / resume --------------------------------------------------------------------------
    def stop(self, selector: str | None) -> list[Action]:
        actions = []
        records = self.registry.all()
        for uid in reversed(self.project.select(selector)):
            record = records.get(self.project.models[uid].name)
            if record and self.job_state(record) == "RUNNING":
                savepoint = self._stop(record)
                actions.append(Action(record.model, "stopped", record.job_id, savepoint))
        return actions

    def resume(self, selector: str | None) -> list[Action]:
        actions = []
        records = self.registry.all()
        for uid in self.project.select(selector):
            record = records.get(self.project.models[uid].name)
            if record and record.status == "stopped" and record.savepoint:
                job_id = self._submit(record.job_spec(), record.savepoint)
                record.job_id, record.status = job_id, "running"
                self.registry.save(record)
                self.progress(f"{record.model}: resumed job {job_id} from {record.savepoint}")
                actions.append(Action(record.model, "resumed", job_id, record.savepoint))
        return actions

    def _stop(self, record: JobRecord) -> str:
        assert record.job_id
        self.progress(f"{record.model}: stopping job {record.job_id} with a savepoint")
        savepoint = self.engine.stop(record.job_id)
        record.status, record.savepoint = "stopped", savepoint
        self.registry.save(record)
        return savepoint
