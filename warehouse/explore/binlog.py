"""A table's live change stream, read through a *temporary* logical replication slot.

PostgreSQL drops a temporary slot when its session ends, however it ends (normal exit, Ctrl-C, a
killed process: the server sees the connection close), so exploring never leaves a slot behind;
nor a publication, since the catalog's `wh_binlog` publication is reused. A slot whose client died
without its session noticing is reaped by `reap_orphans`, which every store-touching command runs.

With `snapshot=True` the current rows come first (as inserts), then only the changes the snapshot
did not already contain: the slot is created before the snapshot is taken, and a transaction whose
xid is visible in the snapshot is skipped.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psutil
import psycopg
from psycopg import sql
from psycopg.abc import Loader

from warehouse.catalog import PUBLICATION, binlog_enabled
from warehouse.config import StoreConnection
from warehouse.errors import WarehouseError
from warehouse.explore.pgoutput import AFTER_UPDATE, INSERT, Decoder, RawEvent
from warehouse.identifiers import pg
from warehouse.project import Table
from warehouse.store import connect, session_slot_name, slot_owner_pid

SLOT_PREFIX = "wh_explore_"
METADATA = ("hg_binlog_lsn", "hg_binlog_event_type", "hg_binlog_timestamp_us")
POLL_SECONDS = 0.2
BATCH = 2000


@dataclass(frozen=True)
class Change:
    lsn: int
    event_type: int
    timestamp_us: int
    row: dict[str, Any]

    def record(self) -> dict[str, Any]:
        return {
            "hg_binlog_lsn": self.lsn,
            "hg_binlog_event_type": self.event_type,
            "hg_binlog_timestamp_us": self.timestamp_us,
            **self.row,
        }


@dataclass(frozen=True)
class Snapshot:
    xmin: int
    xmax: int
    in_progress: frozenset[int]

    def contains(self, xid: int) -> bool:
        """Was transaction `xid` committed before the snapshot (pg_visible_in_snapshot for a committed xid)?"""
        full = _widen(xid, self.xmax)
        return full < self.xmin or (full < self.xmax and full not in self.in_progress)


def stream_changes(
    store: StoreConnection,
    table: Table,
    snapshot: bool = False,
    limit: int | None = None,
    timeout: float | None = None,
    following: Callable[[str], None] = lambda message: None,
) -> Iterator[Change]:
    """Changes of `table`, newest last, until `limit` changes or `timeout` seconds (or forever). `following` is
    told once the slot exists: every change committed from then on is shown."""
    slot = session_slot_name(SLOT_PREFIX, int(time.time() * 1000) % 10**9)
    with connect(store, application_name=slot) as conn:
        _require_binlog(conn, table)
        start_lsn = _create_temporary_slot(conn, slot)
        first = "its rows as of now, then " if snapshot else ""
        following(f"following {table.qualified}: {first}every change committed from now on (Ctrl-C stops)")
        try:
            deadline = None if timeout is None else time.monotonic() + timeout
            if snapshot:
                source = _with_snapshot(store, conn, slot, table, start_lsn, deadline)
            else:
                source = _changes(conn, slot, table, None, deadline)
            for emitted, change in enumerate(source, start=1):
                yield change
                if limit is not None and emitted >= limit:
                    return
        finally:
            _drop_slot_quietly(conn, slot)


def reap_orphans(store: StoreConnection) -> int:
    """End the sessions holding explore slots of processes on this machine that no longer exist."""
    with connect(store) as conn:
        rows = conn.execute(
            "SELECT slot_name, active_pid FROM pg_replication_slots WHERE starts_with(slot_name, %s)", [SLOT_PREFIX]
        ).fetchall()
        orphans = [(name, pid) for name, pid in rows if not psutil.pid_exists(slot_owner_pid(name, SLOT_PREFIX))]
        for name, backend in orphans:
            if backend:
                conn.execute("SELECT pg_terminate_backend(%s)", [backend])
            else:
                conn.execute(
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                    "WHERE slot_name = %s AND NOT active",
                    [name],
                )
    return len(orphans)


def _require_binlog(conn: psycopg.Connection[Any], table: Table) -> None:
    if not binlog_enabled(conn, table.schema, table.name):
        raise WarehouseError(
            f"table {table.qualified} has its binlog off (or does not exist yet)",
            hint="set `binlog: true` in its schema yml and `warehouse run`, or explore it with --batch",
        )


def _create_temporary_slot(conn: psycopg.Connection[Any], slot: str) -> int:
    row = conn.execute("SELECT lsn FROM pg_create_logical_replication_slot(%s, 'pgoutput', true)", [slot]).fetchone()
    assert row is not None
    return _lsn(str(row[0]))


def _drop_slot_quietly(conn: psycopg.Connection[Any], slot: str) -> None:
    if conn.closed:
        return  # the server drops a temporary slot with its session
    with contextlib.suppress(psycopg.Error):
        conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])


def _changes(
    conn: psycopg.Connection[Any], slot: str, table: Table, skip: Snapshot | None, deadline: float | None
) -> Iterator[Change]:
    decoder = Decoder()
    rows = _RowMaker(conn)
    while deadline is None or time.monotonic() < deadline:
        batch = conn.execute(
            "SELECT lsn, data FROM pg_logical_slot_get_binary_changes(%s, NULL, %s, "
            "'proto_version', '1', 'publication_names', %s)",
            [slot, BATCH, PUBLICATION],
        ).fetchall()
        for lsn, data in batch:
            for event in decoder.decode(bytes(data)):
                if _wanted(event, table, skip):
                    # An update's two images share one WAL record; +1 keeps the sequence strictly increasing
                    # (WAL records are longer than one byte, so it never reaches the next record's position).
                    position = _lsn(str(lsn)) + (1 if event.event_type == AFTER_UPDATE else 0)
                    yield Change(position, event.event_type, event.commit_time_us, rows.row(event))
        if len(batch) < BATCH:
            time.sleep(POLL_SECONDS)


def _wanted(event: RawEvent, table: Table, skip: Snapshot | None) -> bool:
    if event.relation.schema != table.schema or event.relation.name != table.name:
        return False
    return skip is None or not skip.contains(event.xid)


def _with_snapshot(
    store: StoreConnection,
    conn: psycopg.Connection[Any],
    slot: str,
    table: Table,
    start_lsn: int,
    deadline: float | None,
) -> Iterator[Change]:
    now_us = int(datetime.now(UTC).timestamp() * 1_000_000)
    with connect(store, autocommit=False) as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = reader.execute("SELECT pg_current_snapshot()::text").fetchone()
        assert row is not None
        snapshot = _parse_snapshot(str(row[0]))
        with reader.cursor(name="wh_explore_snapshot") as cursor:
            cursor.execute(sql.SQL("SELECT * FROM {}").format(pg(table.schema, table.name)))
            columns = [d.name for d in cursor.description or []]
            for values in cursor:
                yield Change(start_lsn, INSERT, now_us, dict(zip(columns, values, strict=True)))
        reader.rollback()
    yield from _changes(conn, slot, table, snapshot, deadline)


class _RowMaker:
    """Text values of pgoutput turned into Python values with psycopg's own loaders."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.adapters = conn.adapters
        self.loaders: dict[int, Loader] = {}

    def row(self, event: RawEvent) -> dict[str, Any]:
        relation = event.relation
        return {
            name: None if value is None else self._loader(oid).load(value.encode())
            for name, oid, value in zip(relation.columns, relation.type_oids, event.values, strict=True)
        }

    def _loader(self, oid: int) -> Loader:
        if oid not in self.loaders:
            loader_class = self.adapters.get_loader(oid, psycopg.pq.Format.TEXT)
            if loader_class is None:
                loader_class = self.adapters.get_loader(0, psycopg.pq.Format.TEXT)
            assert loader_class is not None
            self.loaders[oid] = loader_class(oid)
        return self.loaders[oid]


def _parse_snapshot(text: str) -> Snapshot:
    xmin, xmax, in_progress = text.split(":")
    return Snapshot(int(xmin), int(xmax), frozenset(int(x) for x in in_progress.split(",") if x))


def _widen(xid: int, reference: int) -> int:
    """A 32-bit xid from the protocol as the 64-bit xid nearest to `reference` (same epoch, or the one before)."""
    candidate = (reference & ~0xFFFFFFFF) | xid
    return candidate - (1 << 32) if candidate > reference + (1 << 31) else candidate


def _lsn(text: str) -> int:
    high, low = text.split("/")
    return (int(high, 16) << 32) | int(low, 16)
