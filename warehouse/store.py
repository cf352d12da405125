"""Connections to the warehouse store (PostgreSQL) through psycopg 3."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql

from warehouse.config import StoreConnection
from warehouse.errors import ServiceUnavailable
from warehouse.identifiers import pg

SLOT_PREFIX = "wh_"


def connect(store: StoreConnection, database: str | None = None, **kwargs: Any) -> psycopg.Connection[Any]:
    dbname = database or store.database
    try:
        return psycopg.connect(
            host=store.host,
            port=store.port,
            dbname=dbname,
            user=store.user,
            password=store.password.get_secret_value() or None,
            connect_timeout=10,
            autocommit=kwargs.pop("autocommit", True),
            **kwargs,
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServiceUnavailable(
            f"cannot reach PostgreSQL at {store.host}:{store.port}/{dbname}: {first}", hint=store.unreachable_hint()
        ) from None


@contextlib.contextmanager
def exclusive(store: StoreConnection, what: str, wait: bool = True) -> Iterator[bool]:
    """Hold the store's advisory lock `what` (one holder at a time across processes and machines) while the
    block runs; with `wait=False` the block gets False instead of waiting for another holder."""
    key = int.from_bytes(hashlib.sha256(what.encode()).digest()[:8], "big", signed=True)
    with connect(store) as conn:
        if wait:
            conn.execute("SELECT pg_advisory_lock(%s)", [key])
            held = True
        else:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", [key]).fetchone()
            held = bool(row and row[0])
        try:
            yield held
        finally:
            if held:
                conn.execute("SELECT pg_advisory_unlock(%s)", [key])


def jdbc_url(store: StoreConnection, database: str | None = None) -> str:
    return f"jdbc:postgresql://{store.host}:{store.port}/{database or store.database}"


def ensure_database(store: StoreConnection, name: str) -> bool:
    """Create the database if it is missing; whether it was."""
    with connect(store, database="postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(pg(name)))
        return not exists


def drop_database(store: StoreConnection, name: str) -> None:
    with connect(store, database="postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(pg(name)))


def session_slot_name(prefix: str, suffix: object) -> str:
    """A slot owned by this process, `<prefix><pid>_<suffix>`, so a later session can tell whether it is orphaned."""
    return f"{prefix}{os.getpid()}_{suffix}"


def slot_owner_pid(name: str, prefix: str) -> int:
    """The pid a session slot was named after (see `session_slot_name`), or -1."""
    try:
        return int(name[len(prefix) :].split("_")[0])
    except ValueError:
        return -1


def warehouse_slots(conn: psycopg.Connection[Any]) -> list[tuple[str, bool]]:
    """Replication slots the warehouse created (name, active)."""
    rows = conn.execute(
        "SELECT slot_name, active FROM pg_replication_slots WHERE starts_with(slot_name, %s)", [SLOT_PREFIX]
    ).fetchall()
    return [(str(name), bool(active)) for name, active in rows]


def drop_slots(store: StoreConnection, names: Sequence[str] | None = None, wait: float = 30.0) -> int:
    """Drop the named slots (default: every warehouse slot), once inactive; return how many were dropped.

    A logical slot can only be dropped from the database it was created in.
    """
    with connect(store) as conn:
        slots = _slot_databases(conn, names, wait)
    for database, slot in slots:
        with connect(store, database=database) as conn:
            conn.execute("SELECT pg_drop_replication_slot(%s)", [slot])
    return len(slots)


def _slot_databases(conn: psycopg.Connection[Any], names: Sequence[str] | None, wait: float) -> list[tuple[str, str]]:
    query = (
        "SELECT database, slot_name, active FROM pg_replication_slots "
        "WHERE starts_with(slot_name, %s) AND (%s::text[] IS NULL OR slot_name = ANY(%s::text[]))"
    )
    params = [SLOT_PREFIX, names, names]
    deadline = time.monotonic() + wait
    rows = conn.execute(query, params).fetchall()
    while any(active for _, _, active in rows) and time.monotonic() < deadline:
        time.sleep(0.5)
        rows = conn.execute(query, params).fetchall()
    return [(str(database), str(slot)) for database, slot, _ in rows]
