"""The job registry, kept in the store: each job, the models it runs, its version, its savepoint and slots."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from warehouse.catalog import REGISTRY_SCHEMA
from warehouse.config import StoreConnection
from warehouse.identifiers import pg
from warehouse.lifecycle.engine import JobSpec
from warehouse.store import connect

TABLE = pg(REGISTRY_SCHEMA, "jobs")


@dataclass
class JobRecord:
    job: str  # the job's name (jobgroups.py: its group's)
    fingerprint: str
    query_fingerprint: str
    job_id: str | None
    status: str  # running | stopped (by `warehouse stop`) | parked (by `warehouse down`, until `up`)
    savepoint: str | None = None
    slots: list[dict[str, Any]] = field(default_factory=list)  # asdict(Slot): name, database, schema, tables
    spec: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None  # the latest retained checkpoint seen, for a job its JobManager forgot

    @property
    def members(self) -> list[str]:
        """The models the job runs (a job recorded before job groups ran the model it is named after)."""
        return list(self.spec.get("members", [self.job]))

    def member_queries(self) -> dict[str, str]:
        """Model -> the fingerprint of its queries when the job was started (empty for older records)."""
        return dict(self.spec.get("queries", {}))

    def job_spec(self) -> JobSpec:
        return JobSpec(
            name=self.job,
            ddl=self.spec["ddl"],
            inserts=self.spec["inserts"],
            slots=[slot["name"] for slot in self.slots],
            settings=self.spec.get("settings", {}),
        )


class Registry:
    def __init__(self, store: StoreConnection) -> None:
        self.store = store

    def ensure(self) -> None:
        with connect(self.store) as conn:
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg(REGISTRY_SCHEMA)))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (job text PRIMARY KEY, fingerprint text NOT NULL, "
                    "query_fingerprint text NOT NULL, job_id text, status text NOT NULL, savepoint text, "
                    "slots jsonb NOT NULL DEFAULT '[]', spec jsonb NOT NULL DEFAULT '{{}}', "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(TABLE)
            )
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS checkpoint text").format(TABLE))
            renamed = "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = 'jobs' AND "
            if conn.execute(renamed + "column_name = 'model'", [REGISTRY_SCHEMA]).fetchone():
                conn.execute(sql.SQL("ALTER TABLE {} RENAME COLUMN model TO job").format(TABLE))

    def all(self) -> dict[str, JobRecord]:
        self.ensure()
        with connect(self.store, row_factory=dict_row) as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT job, fingerprint, query_fingerprint, job_id, status, savepoint, slots, spec, checkpoint "
                    "FROM {}"
                ).format(TABLE)
            ).fetchall()
        return {row["job"]: JobRecord(**row) for row in rows}

    def save(self, record: JobRecord, conn: psycopg.Connection[Any] | None = None) -> None:
        """Insert or update the record (inside `conn`'s transaction, when given)."""
        with _connection(self.store, conn) as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (job, fingerprint, query_fingerprint, job_id, status, savepoint, slots, spec, "
                    "checkpoint) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (job) DO UPDATE SET "
                    "fingerprint = EXCLUDED.fingerprint, query_fingerprint = EXCLUDED.query_fingerprint, "
                    "job_id = EXCLUDED.job_id, status = EXCLUDED.status, savepoint = EXCLUDED.savepoint, "
                    "slots = EXCLUDED.slots, spec = EXCLUDED.spec, checkpoint = EXCLUDED.checkpoint, "
                    "updated_at = now()"
                ).format(TABLE),
                [
                    record.job,
                    record.fingerprint,
                    record.query_fingerprint,
                    record.job_id,
                    record.status,
                    record.savepoint,
                    Jsonb(record.slots),
                    Jsonb(record.spec),
                    record.checkpoint,
                ],
            )

    def note_checkpoint(self, job: str, job_id: str, checkpoint: str) -> None:
        """Record a job's latest checkpoint, if the registry still knows that Flink job under the name (never a
        lost update: the row of a job restarted meanwhile is left alone)."""
        with connect(self.store) as conn:
            conn.execute(
                sql.SQL("UPDATE {} SET checkpoint = %s WHERE job = %s AND job_id = %s").format(TABLE),
                [checkpoint, job, job_id],
            )

    def delete(self, job: str, conn: psycopg.Connection[Any] | None = None) -> None:
        with _connection(self.store, conn) as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE job = %s").format(TABLE), [job])


def _connection(store: StoreConnection, conn: psycopg.Connection[Any] | None) -> Any:
    """A connection of its own, or the caller's (left open, its transaction the caller's)."""
    return contextlib.nullcontext(conn) if conn is not None else connect(store)
