"""The job registry, kept in the store: which job runs each model, at which version, from which savepoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    model: str
    fingerprint: str
    query_fingerprint: str
    job_id: str | None
    status: str  # running | stopped (by `warehouse stop`) | parked (by `warehouse down`, until `up`)
    savepoint: str | None = None
    slots: list[dict[str, str]] = field(default_factory=list)
    spec: dict[str, Any] = field(default_factory=dict)
    checkpoint: str | None = None  # the latest retained checkpoint seen, for a job its JobManager forgot

    def job_spec(self) -> JobSpec:
        return JobSpec(
            name=self.model,
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
                    "CREATE TABLE IF NOT EXISTS {} (model text PRIMARY KEY, fingerprint text NOT NULL, "
                    "query_fingerprint text NOT NULL, job_id text, status text NOT NULL, savepoint text, "
                    "slots jsonb NOT NULL DEFAULT '[]', spec jsonb NOT NULL DEFAULT '{{}}', "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(TABLE)
            )
            conn.execute(sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS checkpoint text").format(TABLE))

    def all(self) -> dict[str, JobRecord]:
        self.ensure()
        with connect(self.store, row_factory=dict_row) as conn:
            rows = conn.execute(
                sql.SQL(
                    "SELECT model, fingerprint, query_fingerprint, job_id, status, savepoint, slots, spec, checkpoint "
                    "FROM {}"
                ).format(TABLE)
            ).fetchall()
        return {row["model"]: JobRecord(**row) for row in rows}

    def save(self, record: JobRecord) -> None:
        with connect(self.store) as conn:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (model, fingerprint, query_fingerprint, job_id, status, savepoint, slots, spec, "
                    "checkpoint) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (model) DO UPDATE SET "
                    "fingerprint = EXCLUDED.fingerprint, query_fingerprint = EXCLUDED.query_fingerprint, "
                    "job_id = EXCLUDED.job_id, status = EXCLUDED.status, savepoint = EXCLUDED.savepoint, "
                    "slots = EXCLUDED.slots, spec = EXCLUDED.spec, checkpoint = EXCLUDED.checkpoint, "
                    "updated_at = now()"
                ).format(TABLE),
                [
                    record.model,
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

    def note_checkpoint(self, model: str, job_id: str, checkpoint: str) -> None:
        """Record a job's latest checkpoint, if the registry still knows that job for the model (never a lost
        update: the row of a model whose job changed meanwhile is left alone)."""
        with connect(self.store) as conn:
            conn.execute(
                sql.SQL("UPDATE {} SET checkpoint = %s WHERE model = %s AND job_id = %s").format(TABLE),
                [checkpoint, model, job_id],
            )

    def delete(self, model: str) -> None:
        with connect(self.store) as conn:
            conn.execute(sql.SQL("DELETE FROM {} WHERE model = %s").format(TABLE), [model])
