"""`warehouse status`: per job (and the models it runs), its state, throughput, last checkpoint, input lag, rows
kept aside, restarts, and the current problem with the command that fixes it.

States besides Flink's own: STOPPED (`warehouse stop`), PARKED (`warehouse down`: resumed by `up`), GONE (the
JobManager no longer knows the job, e.g. it was restarted: `up` or `run` resumes it from its latest checkpoint),
UNREACHABLE (the JobManager does not answer).
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from psycopg import sql

from warehouse.catalog import REGISTRY_SCHEMA
from warehouse.config import StoreConnection
from warehouse.errors import FlinkError, NotFound, ServiceUnavailable
from warehouse.http import root_cause
from warehouse.identifiers import pg
from warehouse.jobmanager import JobManagerClient
from warehouse.lifecycle.registry import JobRecord
from warehouse.store import connect


@dataclass(frozen=True)
class JobStatus:
    job: str
    job_id: str | None
    state: str
    uptime_s: float | None = None
    records_in: int | None = None
    records_out: int | None = None
    checkpoint_age_s: float | None = None
    checkpoint_bytes: int | None = None
    lag_bytes: int | None = None
    rejected: int = 0
    late: int = 0  # late changes kept in _warehouse.late_rows
    late_dropped: int = 0  # late rows a window dropped since the job started (Flink's count)
    restarts: int = 0  # Flink's restarts of the job (after a TaskManager or database failure, say)
    problem: str = ""
    models: tuple[str, ...] = ()
    deploying: str = ""  # for the new version of a job during a blue/green deploy: the job it replaces

    @property
    def note(self) -> str:
        if not self.deploying:
            return ""
        return f"blue/green deploy in progress: the new version of job {self.deploying}, built beside its live tables"

    @property
    def running(self) -> bool:
        return self.state == "RUNNING"


def collect(records: dict[str, JobRecord], jobmanager: JobManagerClient, store: StoreConnection) -> list[JobStatus]:
    lags, rejected, late = _slot_lags(store), _kept(store, "rejected_rows"), _kept(store, "late_rows")
    found = []
    for record in sorted(records.values(), key=lambda r: r.job):
        members = record.members
        replaces = str(record.spec.get("beside", {}).get("replaces", ""))
        status = replace(_status(record, jobmanager, lags), models=tuple(members), deploying=replaces)
        found.append(replace(status, rejected=_total(rejected, members), late=_total(late, members)))
    return found


def _total(counts: dict[str, int], models: list[str]) -> int:
    return sum(counts.get(model, 0) for model in models)


def _failure(job_id: str, state: str, restarts: int, jobmanager: JobManagerClient) -> str:
    """The current failure of a job that is not running; for a running job that restarted, its last one (dated)."""
    if state == "RUNNING" and not restarts:
        return ""
    failure = jobmanager.failure(job_id)
    if failure is None:
        return f"restarted {restarts} time(s)" if restarts else ""
    cause, at = failure
    if state == "RUNNING":
        return f"restarted {restarts} time(s); the last failure, {_ago(at)}: {root_cause(cause)}"
    return root_cause(cause)


def _ago(epoch_ms: float) -> str:
    seconds = max(0.0, time.time() - epoch_ms / 1000)
    return f"{seconds:.0f}s ago" if seconds < 120 else f"{seconds / 60:.0f}min ago"


def _kept(store: StoreConnection, table: str) -> dict[str, int]:
    """Per model, the rows kept aside in `_warehouse.<table>`: rejected rows (a NULL key, a value that does not
    fit its column) or late rows (behind the watermark of a window)."""
    with connect(store) as conn:
        if conn.execute("SELECT to_regclass(%s)", [f"{REGISTRY_SCHEMA}.{table}"]).fetchone() == (None,):
            return {}
        query = sql.SQL("SELECT model, count(*) FROM {} GROUP BY model").format(pg(REGISTRY_SCHEMA, table))
        rows = conn.execute(query).fetchall()
    return {str(model): int(count) for model, count in rows}


def _status(record: JobRecord, jobmanager: JobManagerClient, lags: dict[str, int]) -> JobStatus:
    lag = sum(lags.get(slot["name"], 0) for slot in record.slots) if record.slots else None
    if not record.job_id or record.status in ("stopped", "parked"):
        fix = "`warehouse up` resumes it" if record.status == "parked" else "`warehouse resume` restarts it"
        return JobStatus(record.job, record.job_id, record.status.upper(), lag_bytes=lag, problem=fix)
    try:
        job = jobmanager.job(record.job_id)
        checkpoints = jobmanager.checkpoints(record.job_id)
        restarts = jobmanager.restarts(record.job_id)
        problem = _failure(record.job_id, str(job["state"]), restarts, jobmanager)
    except NotFound:
        gone = "the JobManager does not know this job (it restarted?): `warehouse up` or `warehouse run` resumes it"
        return JobStatus(record.job, record.job_id, "GONE", lag_bytes=lag, problem=gone)
    except (FlinkError, ServiceUnavailable) as exc:
        return JobStatus(record.job, record.job_id, "UNREACHABLE", lag_bytes=lag, problem=exc.one_line())
    if job["state"] in ("FAILED", "CANCELED", "FINISHED"):
        problem += " (`warehouse run` resumes it from its latest checkpoint)"
    records_in, records_out = _records(record.job_id, job, jobmanager)
    age, size = _last_checkpoint(checkpoints)
    return JobStatus(
        record.job,
        record.job_id,
        str(job["state"]),
        float(job.get("duration", 0)) / 1000,
        records_in,
        records_out,
        age,
        size,
        lag,
        late_dropped=_late_dropped(record.job_id, job, jobmanager),
        restarts=restarts,
        problem=problem.strip(),
    )


def _late_dropped(job_id: str, job: dict[str, Any], jobmanager: JobManagerClient) -> int:
    """Rows the job's windows dropped as late (Flink's `numLateRecordsDropped`, since the job started)."""
    windows = [v["id"] for v in job.get("vertices", []) if "Window" in str(v.get("name", ""))]
    try:
        return sum(int(jobmanager.operator_metric(job_id, vertex, "numLateRecordsDropped")) for vertex in windows)
    except FlinkError:
        return 0


def _records(job_id: str, job: dict[str, Any], jobmanager: JobManagerClient) -> tuple[int, int]:
    counters: dict[str, float] = {}
    for vertex in job.get("vertices", []):
        counters |= jobmanager.operator_metrics(job_id, str(vertex["id"]), ("numRecordsIn", "numRecordsOut"))
    return records_in_out(counters)


# What a source gave the job: its numRecordsIn also counts the CDC reader's heartbeats and snapshot markers.
SOURCE_READ = re.compile(r"^Source__[^.]+\.numRecordsOut$")
SINK_WRITTEN = re.compile(r"^(Sink__[^.]+|[^.]+__Writer)\.numRecordsIn$")


def records_in_out(counters: Mapping[str, float]) -> tuple[int, int]:
    """Rows the job's sources read and its sinks wrote, from the operators' own counters (a vertex chained
    from source to sink moves nothing over the network, so its vertex I/O counters stay 0)."""
    read = sum(value for name, value in counters.items() if SOURCE_READ.match(name))
    written = sum(value for name, value in counters.items() if SINK_WRITTEN.match(name))
    return int(read), int(written)


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
