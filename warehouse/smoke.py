"""`warehouse smoke`: the smallest live pipeline, to see the stack work end to end.

A table in PostgreSQL is read by postgres-cdc and upserted through JDBC into a copy; a few changes are
made and the copy is shown following them. Everything it creates is removed at the end.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg import sql

from warehouse.connectors import FlinkColumn, cdc_options, jdbc_sink_options, table_ddl
from warehouse.identifiers import pg
from warehouse.lifecycle.engine import Engine, JobSpec
from warehouse.store import connect

SLOT = "wh_smoke"
PUBLICATION = "wh_smoke_pub"
COLUMNS = [FlinkColumn("id", "INT"), FlinkColumn("name", "STRING")]
CHANGES = [
    ("insert id 4", "INSERT INTO smoke_src VALUES (4, 'four')"),
    ("update id 2", "UPDATE smoke_src SET name = 'TWO' WHERE id = 2"),
    ("delete id 1", "DELETE FROM smoke_src WHERE id = 1"),
]


def run_smoke(engine: Engine, say: Callable[[str], None], timeout: float = 60.0) -> bool:
    """True when the copy followed every change."""
    with connect(engine.store) as conn:
        _prepare(conn)
        job_id = engine.submit(_spec(engine))
        say(f"job {job_id} started: smoke_src --cdc--> Flink --jdbc--> smoke_dst")
        try:
            ok = _await_copy(conn, say, "snapshot", timeout)
            for label, statement in CHANGES:
                conn.execute(statement)
                ok = ok and _await_copy(conn, say, label, timeout)
            return ok
        finally:
            engine.remove(job_id, [SLOT])
            _clean(conn)
            say("job cancelled, slot dropped, smoke tables removed")


def _spec(engine: Engine) -> JobSpec:
    store = engine.store
    source = table_ddl(
        "src", COLUMNS, ["id"], cdc_options(store, store.database, "public", "smoke_src", SLOT, PUBLICATION)
    )
    sink = table_ddl("dst", COLUMNS, ["id"], jdbc_sink_options(store, store.database, "public.smoke_dst"))
    return JobSpec("smoke", [source, sink], ["INSERT INTO dst SELECT id, name FROM src"], slots=[SLOT])


def _prepare(conn: psycopg.Connection[Any]) -> None:
    _clean(conn)
    conn.execute("CREATE TABLE smoke_src (id int PRIMARY KEY, name text)")
    conn.execute("ALTER TABLE smoke_src REPLICA IDENTITY FULL")
    conn.execute("CREATE TABLE smoke_dst (id int PRIMARY KEY, name text)")
    conn.execute(sql.SQL("CREATE PUBLICATION {} FOR TABLE smoke_src").format(pg(PUBLICATION)))
    conn.execute("INSERT INTO smoke_src VALUES (1, 'one'), (2, 'two'), (3, 'three')")


def _clean(conn: psycopg.Connection[Any]) -> None:
    conn.execute(sql.SQL("DROP PUBLICATION IF EXISTS {}").format(pg(PUBLICATION)))
    conn.execute("DROP TABLE IF EXISTS smoke_src, smoke_dst")


def _await_copy(conn: psycopg.Connection[Any], say: Callable[[str], None], label: str, timeout: float) -> bool:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        source = conn.execute("SELECT id, name FROM smoke_src ORDER BY id").fetchall()
        copy = conn.execute("SELECT id, name FROM smoke_dst ORDER BY id").fetchall()
        if source == copy:
            say(f"{label:<12} -> smoke_dst = {copy}  ({time.monotonic() - started:.1f}s)")
            return True
        time.sleep(0.2)
    say(f"{label}: smoke_dst did not follow within {timeout:.0f}s")
    return False
