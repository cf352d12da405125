"""A clean job's snapshot phase: waiting for it to end, and releasing the watermark it held meanwhile.

A binlog reader with a watermark holds it at the epoch while it reads the snapshot (eventtime.py); the
first change read from the log then moves it. Two waits make a window model built over history whole:
- before it starts, the job that fills its upstream table must have read its own snapshot and flushed it
  (else that history would reach the window as live changes, in no time order, and mostly late);
- after it starts, once its reader has switched to the log, `run` touches the upstream row with the newest
  event time (an UPDATE that sets nothing new), so the watermark moves to that time minus the delay at
  once, as in a live run, instead of waiting for the next upstream change. Every reader of that table's
  binlog sees the row retracted and added back, unchanged.
Both read the CDC source's own per-table metrics (`snapshotEndTime`, `numSnapshotSplitsRemaining`), and wait
only for jobs started clean by the same `run` (a running job's table already holds its history).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from psycopg import sql

from warehouse.catalog import KEEP_UNCHANGED
from warehouse.compiler import CompiledJob, EventTimeRead
from warehouse.config import StoreConnection
from warehouse.errors import FlinkError, ServiceUnavailable
from warehouse.identifiers import pg
from warehouse.jobmanager import JobManagerClient
from warehouse.store import connect

Progress = Callable[[str], None]
SNAPSHOT_ENDED, CHUNKS_LEFT = "snapshotEndTime", "numSnapshotSplitsRemaining"
POLL = 0.5


def await_history(
    jobmanager: JobManagerClient,
    job_id: str,
    name: str,
    progress: Progress,
    timeout: float = 600.0,
    metrics: bool = True,
    healthy: Callable[[], None] = lambda: None,
) -> bool:
    """Wait until every CDC reader of the job reads its log and a checkpoint after that flushed its sinks.

    `metrics=False`: a job whose readers publish no snapshot metrics (mysql-cdc 3.5 has none); it waits for
    two checkpoints only, which flush what was read so far but do not prove the snapshot complete. `healthy`
    is called at every poll: it raises to end the wait (a job that failed)."""
    deadline, said = time.monotonic() + timeout, -1.0
    if not metrics:
        progress(f"{name}: mysql-cdc reports no snapshot progress; waiting for two checkpoints")
        return _await_checkpoint(jobmanager, job_id, deadline, healthy)
    while time.monotonic() < deadline:
        healthy()
        remaining = _snapshot_left(jobmanager, job_id)
        if remaining == 0:
            return _await_checkpoint(jobmanager, job_id, deadline, healthy)
        if remaining is not None and remaining != said:
            progress(f"{name}: reading the snapshot, {remaining:.0f} chunk(s) to go")
            said = remaining
        time.sleep(POLL)
    progress(f"{name}: the snapshot is still being read after {timeout:.0f}s")
    return False


def release_held_watermarks(job: CompiledJob, store: StoreConnection, progress: Progress) -> None:
    """Touch the newest row of each table the job reads with a held watermark."""
    for read in job.event_time:
        if touch_newest_row(store, read):
            progress(f"{job.name}: watermark released to the newest row of {read.table.name}")


def touch_newest_row(store: StoreConnection, read: EventTimeRead) -> bool:
    """UPDATE the row with the newest event time to itself; False when the table is empty."""
    table, column = read.table, pg(read.column)
    key = sql.SQL(", ").join(pg(k) for k in table.primary_key)
    statement = sql.SQL(
        "UPDATE {table} SET {column} = {column} WHERE ({key}) IN "
        "(SELECT {key} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} DESC LIMIT 1)"
    ).format(table=pg(table.schema, table.name), column=column, key=key)
    with connect(store, database=table.database) as conn, conn.transaction():
        conn.execute("SELECT set_config(%s, 'on', true)", [KEEP_UNCHANGED])  # this update must reach the binlog
        return conn.execute(statement).rowcount > 0


def _snapshot_left(jobmanager: JobManagerClient, job_id: str) -> float | None:
    """Snapshot chunks left over the job's CDC readers (0 once every table's snapshot has ended); None until
    the readers have registered their tables."""
    try:
        readers = [v for v in jobmanager.job(job_id).get("vertices", []) if str(v.get("name")).startswith("Source: ")]
        tables = [t for v in readers for t in jobmanager.table_snapshot_metrics(job_id, str(v["id"]))]
    except (FlinkError, ServiceUnavailable):
        return None  # still being scheduled
    if not tables:
        return None
    if all(table.get(SNAPSHOT_ENDED, 0) > 0 for table in tables):
        return 0
    return sum(max(table.get(CHUNKS_LEFT, 0), 1) for table in tables if table.get(SNAPSHOT_ENDED, 0) <= 0)


def _await_checkpoint(jobmanager: JobManagerClient, job_id: str, deadline: float, healthy: Callable[[], None]) -> bool:
    """A checkpoint completed after now: every sink of the job has flushed what it read so far."""
    before = jobmanager.completed_checkpoints(job_id)
    while time.monotonic() < deadline:
        healthy()
        if jobmanager.completed_checkpoints(job_id) > before + 1:  # +1: the one in flight may predate now
            return True
        time.sleep(POLL)
    return False
