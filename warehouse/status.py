"""`warehouse status`: per model, its job's state, throughput, last checkpoint and input lag."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from warehouse.config import StoreConnection
from warehouse.errors import FlinkError
from warehouse.http import root_cause
from warehouse.jobmanager import JobManagerClient
from warehouse.registry import JobRecord
from warehouse.store import connect


@dataclass(frozen=True)
class ModelStatus:
    model: str
    job_id: str | None
    state: str
    uptime_s: float | None = None
    records_in: int | None = None
    records_out: int | None = None
    checkpoint_age_s: float | None = None
    checkpoint_bytes: int | None = None
    lag_bytes: int | None = None
    rejected: int = 0
    problem: str = ""


def collect(records: dict[str, JobRecord], jobmanager: JobManagerClient, store: StoreConnection) -> list[ModelStatus]:
    lags, rejected = _slot_lags(store), _rejected(store)
    statuses = [_status(record, jobmanager, lags) for record in sorted(records.values(), key=lambda r: r.model)]
    return [replace(s, rejected=rejected.get(s.model, 0), problem=_problem(s, jobmanager)) for s in statuses]


def _problem(status: ModelStatus, jobmanager: JobManagerClient) -> str:
    """Why a job is not running well: the root cause Flink recorded."""
    if status.state in ("RUNNING", "STOPPED", "UNKNOWN") or not status.job_id:
        return ""
    return root_cause(jobmanager.exceptions(status.job_id))


def _rejected(store: StoreConnection) -> dict[str, int]:
    """Rows a sink could not take (NULL in the primary key), kept in _warehouse.rejected_rows."""
    with connect(store) as conn:
        if conn.execute("SELECT to_regclass('_warehouse.rejected_rows')").fetchone() == (None,):
            return {}
        rows = conn.execute("SELECT model, count(*) FROM _warehouse.rejected_rows GROUP BY model").fetchall()
    return {str(model): int(count) for model, count in rows}


def _status(record: JobRecord, jobmanager: JobManagerClient, lags: dict[str, int]) -> ModelStatus:
    lag = sum(lags.get(slot["name"], 0) for slot in record.slots) if record.slots else None
    if not record.job_id or record.status == "stopped":
        return ModelStatus(record.model, record.job_id, "STOPPED", lag_bytes=lag)
    try:
        job = jobmanager.job(record.job_id)
        checkpoints = jobmanager.checkpoints(record.job_id)
    except FlinkError:
        return ModelStatus(record.model, record.job_id, "UNKNOWN", lag_bytes=lag)
    records_in, records_out = _records(job)
    age, size = _last_checkpoint(checkpoints)
    return ModelStatus(
        record.model,
        record.job_id,
        str(job["state"]),
        float(job.get("duration", 0)) / 1000,
        records_in,
        records_out,
        age,
        size,
        lag,
    )


def _records(job: dict[str, Any]) -> tuple[int, int]:
    """Records read by the sources and written by the sinks (vertex I/O counters)."""
    nodes = job.get("plan", {}).get("nodes", [])
    feeding = {edge["id"] for node in nodes for edge in node.get("inputs", [])}
    metrics = {v["id"]: v.get("metrics", {}) for v in job.get("vertices", [])}
    sources = [metrics.get(n["id"], {}) for n in nodes if not n.get("inputs")]
    sinks = [metrics.get(n["id"], {}) for n in nodes if n["id"] not in feeding]
    records_in = sum(int(m.get("write-records", 0)) for m in sources)
    records_out = sum(int(m.get("read-records", 0)) or int(m.get("write-records", 0)) for m in sinks)
    return records_in, records_out


def _last_checkpoint(checkpoints: dict[str, Any]) -> tuple[float | None, int | None]:
    latest = (checkpoints.get("latest") or {}).get("completed")
    if not latest:
        return None, None
    age = time.time() - float(latest["latest_ack_timestamp"]) / 1000
    size = latest.get("checkpointed_size", latest.get("state_size"))
    return age, int(size) if size is not None else None


def _slot_lags(store: StoreConnection) -> dict[str, int]:
    """How far behind the current WAL each warehouse slot's confirmed position is."""
    with connect(store) as conn:
        rows = conn.execute(
            "SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
            "FROM pg_replication_slots WHERE starts_with(slot_name, 'wh_')"
        ).fetchall()
    return {str(name): int(lag or 0) for name, lag in rows}
