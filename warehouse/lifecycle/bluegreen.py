"""Blue/green deploys: a job whose queries changed is rebuilt beside its live version, then swapped in.

The *set* of a deploy is every running job that must start clean (its queries changed) and every job that reads,
directly or through others, a table one of them writes: all of them are rebuilt, none is cleared. Jobs go one at a
time, upstream first; for each one

1. build:   its tables are created in a shadow schema (`<schema>__wh_next`), its new version is started as a job of
            its own (registry key `<job>@next`) with the other set of slot names (compiler.slot_name), writing the
            shadow tables while the live job keeps writing the live ones;
2. hydrate: `run` waits until the new job has read its snapshot, a checkpoint flushed it, and each of its
            change-log readers has confirmed at least the position the live job's reader of the same table had
            confirmed when the round began, in a round that took under `max_lag` (default 10 s): it is as far as the
            live version, give or take one round. Rows and lag are shown while it waits;
3. swap:    the new job and the live one stop with savepoints, then *one store transaction* drops the live tables,
            moves the shadow tables into their schemas under the same names, moves their rejected and late rows
            and records the new job under the job's name. Publications of the binlog follow the tables (they hold
            tables, not names), so readers of the new tables read them from their first row;
4. follow:  the new job restarts from its savepoint writing the swapped tables under their own names (only its
            sinks' table names change: stateless), the old job's slots and publications are dropped.

A new job reads only tables under their final names: the upstream jobs of the set were swapped before it starts (a
table renamed under a running CDC reader would lose its changes: the reader's state names the table). So while a
downstream job's new version hydrates, its live table keeps serving the rows of the previous version, paused at the
moment its upstream was swapped; it never empties and never loses a key. A job that reads the binlog of its own
table cannot be built beside itself: such a set is rebuilt in place, and `plan` says why.

If the new version fails or does not catch up within `timeout`, nothing is swapped: the new job is cancelled, its
slots, publications and shadow tables dropped, and the live version keeps serving. A job of the set whose upstream was
already swapped is marked, so that the next `run` rebuilds it beside again (`replaced_upstream`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from warehouse.catalog import forget_table
from warehouse.compiler import CompiledJob, Slot, recorded_slot_tables
from warehouse.errors import FlinkError, WarehouseError
from warehouse.http import root_cause
from warehouse.identifiers import pg
from warehouse.lifecycle.registry import JobRecord
from warehouse.lifecycle.snapshot import await_history, release_held_watermarks
from warehouse.project import Model, Table
from warehouse.store import connect

if TYPE_CHECKING:
    from warehouse.lifecycle.apply import Action, Lifecycle

NEXT = "@next"  # the registry key of a job's new version while it is built: `<job>@next`
SHADOW_SUFFIX = "__wh_next"
REPLACED_UPSTREAM = "replaced_upstream"  # spec key of a live job whose upstream was swapped (its input moved on)
DEFAULT_MAX_LAG = 10.0
DEFAULT_TIMEOUT = 900.0
POLL = 0.5


# ---- pure rules (table-tested in tests/unit/test_bluegreen.py) ---------------------------------------------------
def shadow_schema(schema: str) -> str:
    return f"{schema}{SHADOW_SUFFIX}"


def other_slot_set(slot_set: str) -> str:
    """The slot names a job's next version uses: the two sets alternate, deploy after deploy."""
    return "" if slot_set else "b"


def next_key(job: str) -> str:
    return f"{job}{NEXT}"


def is_next_version(record: JobRecord) -> bool:
    return "beside" in record.spec


def beside_blocker(job: str, state: str, own_binlog_reads: list[str]) -> str:
    """Why a job of the set cannot be rebuilt beside its live version ('' when it can)."""
    if state != "RUNNING":
        return f"job {job} is not running ({state.lower()}): there is no live version to keep serving"
    if own_binlog_reads:
        tables = ", ".join(own_binlog_reads)
        return f"job {job} reads the binlog of its own table(s) {tables}, which cannot move under a running reader"
    return ""


def own_binlog_reads(job: CompiledJob) -> list[str]:
    """The job's own tables that it also reads through their binlog (possible only with an explicit job_group)."""
    own = {(model.table.database, model.table.schema, model.table.name) for model in job.models}
    reads = {(slot.database, slot.schema, table) for slot in job.slots for table in slot.tables}
    return sorted(table for _, _, table in reads & own)


def placement(job: CompiledJob) -> dict[str, str]:
    """Table key -> shadow schema, for every table the job writes."""
    return {f"{m.table.database}.{m.table.schema}.{m.table.name}": shadow_schema(m.table.schema) for m in job.models}


def lag_targets(new: list[Slot], live: list[dict[str, str]]) -> dict[str, str | None]:
    """New slot -> a live slot reading the same table (None: no live reader of it, compare with the WAL's end);
    for a slot of several tables, the live slot of the first table that has one."""
    by_table = {(s["database"], s["schema"], t): s["name"] for s in live for t in recorded_slot_tables(s)}
    readers = {slot.name: [by_table.get((slot.database, slot.schema, t)) for t in slot.tables] for slot in new}
    return {name: next((found for found in candidates if found), None) for name, candidates in readers.items()}


# ---- the deploy ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Versions:
    live: JobRecord
    shadow: CompiledJob  # writes the shadow tables, reads with the other slot set
    final: CompiledJob  # the same job writing the live tables' names, with the new slot set


class BlueGreen:
    def __init__(self, lifecycle: Lifecycle, max_lag: float = DEFAULT_MAX_LAG, timeout: float = DEFAULT_TIMEOUT):
        self.lifecycle = lifecycle
        self.max_lag = max_lag
        self.timeout = timeout

    @property
    def progress(self) -> Callable[[str], None]:
        return self.lifecycle.progress

    def deploy(self, job: CompiledJob, live: JobRecord) -> list[Action]:
        compiler = self.lifecycle.compiler
        new_set = other_slot_set(job.slot_set)
        versions = Versions(live, compiler.recompile(job, new_set, placement(job)), compiler.recompile(job, new_set))
        self._drop_shadow(versions.shadow)  # what an interrupted deploy may have left
        try:
            job_id = self._build(versions)
            self._hydrate(versions, job_id)
        except WarehouseError as failed:
            self._abandon(versions)
            raise WarehouseError(
                f"the new version of job {job.name} was not swapped in: {failed.message}; the live version keeps "
                "serving, the new one was removed",
                hint=failed.hint or "fix the model (`warehouse status` showed the job's error) and run again",
            ) from None
        except Exception:
            self._abandon(versions)  # an unexpected error leaves nothing of the new version either
            raise
        return self._swap(versions, job_id)

    # ---- 1. build -----------------------------------------------------------------------------------------------
    def _build(self, versions: Versions) -> str:
        lifecycle, shadow = self.lifecycle, versions.shadow
        lifecycle.sync_tables(shadow, _placed)
        lifecycle.catalog.forget_kept_rows([model.name for model in shadow.models])
        lifecycle.prepare_slots(shadow.slots)
        self.progress(f"{shadow.name}: building its new version beside the live tables (blue/green)")
        spec = shadow.spec()
        job_id = lifecycle.submit(replace(spec, name=f"{shadow.name} (next version)"), None)
        schemas = sorted({_placed(model).table.schema for model in shadow.models})
        beside = {"replaces": versions.live.job, "schemas": schemas}
        lifecycle.record(shadow, job_id, key=next_key(shadow.name), beside=beside)
        return job_id

    # ---- 2. hydrate ---------------------------------------------------------------------------------------------
    def _hydrate(self, versions: Versions, job_id: str) -> None:
        lifecycle, shadow = self.lifecycle, versions.shadow
        deadline = time.monotonic() + self.timeout
        jobmanager = lifecycle.engine.jobmanager
        metrics = not shadow.mysql_reads
        healthy = lambda: self._healthy(job_id)  # noqa: E731
        if not await_history(jobmanager, job_id, shadow.name, self.progress, self.timeout, metrics, healthy):
            self._healthy(job_id)
            raise WarehouseError(f"it did not read its snapshot within {self.timeout:.0f}s")
        self._healthy(job_id)
        if shadow.event_time:
            release_held_watermarks(shadow, lifecycle.engine.store, self.progress)
        while True:
            lag = self._lag_round(versions, job_id, deadline)
            self.progress(f"{shadow.name}: next version {self._rows(shadow)}; lag {lag:.1f}s")
            if lag <= self.max_lag:
                return

    def _lag_round(self, versions: Versions, job_id: str, deadline: float) -> float:
        """Seconds until every new reader confirmed what the live one (or the WAL's end) had at the round's start."""
        began, targets = time.monotonic(), self._positions(versions)
        while time.monotonic() < deadline:
            self._healthy(job_id)
            if self._reached(targets):
                return time.monotonic() - began
            time.sleep(POLL)
        raise WarehouseError(f"it did not catch up with the live version within {self.timeout:.0f}s")

    def _positions(self, versions: Versions) -> dict[str, str]:
        """New slot -> the position it must reach: the live reader's of the same table, else the WAL's end (slots
        and the WAL are the server's: one connection sees them all)."""
        targets = lag_targets(versions.shadow.slots, versions.live.slots)
        query = (
            "SELECT coalesce((SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = %s), "
            "pg_current_wal_lsn())::text"
        )
        with connect(self.lifecycle.engine.store) as conn:
            return {new: _one_text(conn.execute(query, [live]).fetchone()) for new, live in targets.items()}

    def _reached(self, targets: dict[str, str]) -> bool:
        """Every new slot confirmed its target position."""
        query = "SELECT count(*) FROM pg_replication_slots WHERE slot_name = %s AND confirmed_flush_lsn >= %s::pg_lsn"
        with connect(self.lifecycle.engine.store) as conn:
            return all(_one(conn.execute(query, [slot, lsn]).fetchone()) for slot, lsn in targets.items())

    def _healthy(self, job_id: str) -> None:
        """The new version runs and has not failed once (a failure while it hydrates is a failed deploy)."""
        jobmanager = self.lifecycle.engine.jobmanager
        state, failure = jobmanager.state(job_id), jobmanager.failure(job_id)
        if state != "RUNNING" or failure is not None:
            cause = root_cause(failure[0]) if failure else f"its job is {state}"
            raise WarehouseError(f"its job failed while it was being built: {cause}")

    def _rows(self, job: CompiledJob) -> str:
        """Each model's rows in its new version and in its live table (a model new to the job has none)."""
        with connect(self.lifecycle.engine.store) as conn:
            counts = [(m.name, _count(conn, _placed(m).table), _count(conn, m.table)) for m in job.models]
        return ", ".join(f"{name} {new} rows (live {live})" for name, new, live in counts)

    # ---- 3. swap and 4. follow ----------------------------------------------------------------------------------
    def _swap(self, versions: Versions, job_id: str) -> list[Action]:
        from warehouse.lifecycle.apply import Action

        lifecycle, final, live = self.lifecycle, versions.final, versions.live
        savepoint = lifecycle.engine.stop(job_id)
        live_savepoint = lifecycle.stop_record(live)
        try:
            self._swap_tables(final, live, savepoint)
        except Exception:
            lifecycle.restart_record(live, live_savepoint)
            self._abandon(versions)
            raise
        lifecycle.sync_tables(final)  # the swapped tables' helpers, under their own names again
        self._drop_shadow(versions.shadow)
        lifecycle.drop_slots(live.slots)
        try:
            new_id = lifecycle.submit(final.spec(), savepoint)
        except FlinkError as failed:
            raise FlinkError(
                f"job {final.name}: its new tables were swapped in, but its job did not restart ({failed.message})",
                hint=f"`warehouse resume -s {final.models[0].name}` restarts it from {savepoint}",
            ) from None
        lifecycle.record(final, new_id)
        self.progress(f"{final.name}: swapped in; job {new_id} (was {live.job_id}) writes the live tables")
        detail = "rebuilt beside the live table and swapped in (blue/green)"
        return [Action(model.name, "swapped", new_id, detail) for model in final.models]

    def _swap_tables(self, final: CompiledJob, live: JobRecord, savepoint: str) -> None:
        """One transaction: the live tables dropped, the shadow ones moved in, kept rows and the registry moved."""
        lifecycle = self.lifecycle
        with connect(lifecycle.engine.store) as conn, conn.transaction():
            for model in final.models:
                table, shadow = model.table, _placed(model).table
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(pg(table.schema, table.name)))
                moved = sql.SQL("ALTER TABLE {} SET SCHEMA {}")
                conn.execute(moved.format(pg(shadow.schema, shadow.name), pg(table.schema)))
                forget_table(conn, shadow)
            record = lifecycle.record_of(final, None, status="stopped", savepoint=savepoint)
            lifecycle.registry.save(record, conn)
            lifecycle.registry.delete(next_key(final.name), conn)
        self.progress(f"{final.name}: the new tables were swapped in (one transaction); the old ones dropped")

    def _abandon(self, versions: Versions) -> None:
        """Remove the new version: its job, slots, publications, shadow tables and registry entry."""
        lifecycle, shadow = self.lifecycle, versions.shadow
        record = lifecycle.registry.all().get(next_key(shadow.name))
        lifecycle.engine.remove(record.job_id if record else None, [slot.name for slot in shadow.slots])
        lifecycle.drop_publications([{"database": s.database, "name": s.name} for s in shadow.slots])
        self._drop_shadow(shadow)
        lifecycle.registry.delete(next_key(shadow.name))

    def _drop_shadow(self, shadow: CompiledJob) -> None:
        with connect(self.lifecycle.engine.store) as conn, conn.transaction():
            for model in shadow.models:
                table = _placed(model).table
                conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(pg(table.schema, table.name)))
                forget_table(conn, table)
            for schema in sorted({_placed(model).table.schema for model in shadow.models}):
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(schema)))


def _placed(model: Model) -> Model:
    """The model as its next version writes it: the same table in the shadow schema."""
    return replace(model, table=replace(model.table, schema=shadow_schema(model.table.schema)))


def _count(conn: psycopg.Connection[Any], table: Table) -> str:
    """The table's row count, or "none" when it does not exist (yet)."""
    exists = "SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s"
    if not conn.execute(exists, [table.schema, table.name]).fetchone():
        return "none"
    return str(_one(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(pg(table.schema, table.name))).fetchone()))


def _one(row: tuple[Any, ...] | None) -> int:
    return int(row[0]) if row else 0


def _one_text(row: tuple[Any, ...] | None) -> str:
    return str(row[0]) if row and row[0] is not None else "0/0"


def remove_next_version(lifecycle: Lifecycle, record: JobRecord) -> None:
    """Clean up after an interrupted deploy: the new version's job, slots, publications and shadow tables."""
    lifecycle.retire(record)
    with connect(lifecycle.engine.store) as conn, conn.transaction():
        for schema in record.spec["beside"].get("schemas", []):
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(schema)))
    lifecycle.registry.delete(record.job)
