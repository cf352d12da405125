"""The spine: PostgreSQL --postgres-cdc--> Flink --JDBC upsert--> PostgreSQL, stopped and resumed.

The oracle is PostgreSQL itself: the target must equal the source table, and a running COUNT/SUM
computed by the same job must equal `count(*)`, `sum(amount)` of the source, which proves that no
change was applied twice or lost across the savepoint.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.helpers import eventually
from warehouse.connectors import FlinkColumn, cdc_options, jdbc_sink_options, table_ddl
from warehouse.context import Context
from warehouse.lifecycle.engine import JobSpec
from warehouse.store import connect

SLOT = "wh_spine_src"
COLUMNS = [FlinkColumn("id", "INT"), FlinkColumn("name", "STRING"), FlinkColumn("amount", "DECIMAL(12, 2)")]


@pytest.fixture
def db(stack: Context) -> Any:
    with connect(stack.settings.profile.store_connection()) as conn:
        conn.execute("DROP TABLE IF EXISTS spine_src, spine_dst, spine_totals")
        conn.execute("DROP PUBLICATION IF EXISTS wh_spine_pub")
        conn.execute("CREATE TABLE spine_src (id int PRIMARY KEY, name text, amount numeric(12, 2))")
        conn.execute("ALTER TABLE spine_src REPLICA IDENTITY FULL")
        conn.execute("CREATE TABLE spine_dst (id int PRIMARY KEY, name text, amount numeric(12, 2))")
        conn.execute("CREATE TABLE spine_totals (k int PRIMARY KEY, n bigint, total numeric(14, 2))")
        conn.execute("CREATE PUBLICATION wh_spine_pub FOR TABLE spine_src")
        conn.execute("INSERT INTO spine_src SELECT g, 'row ' || g, g * 1.5 FROM generate_series(1, 50) g")
        yield conn


def spec(stack: Context) -> JobSpec:
    store = stack.settings.profile.store_connection()
    source = table_ddl(
        "src", COLUMNS, ["id"], cdc_options(store, "warehouse", "public", "spine_src", SLOT, "wh_spine_pub")
    )
    target = table_ddl("dst", COLUMNS, ["id"], jdbc_sink_options(store, "warehouse", "public.spine_dst"))
    totals_columns = [FlinkColumn("k", "INT"), FlinkColumn("n", "BIGINT"), FlinkColumn("total", "DECIMAL(14, 2)")]
    totals = table_ddl("totals", totals_columns, ["k"], jdbc_sink_options(store, "warehouse", "public.spine_totals"))
    inserts = [
        "INSERT INTO dst SELECT id, name, amount FROM src",
        "INSERT INTO totals SELECT 1, COUNT(*), CAST(SUM(amount) AS DECIMAL(14, 2)) FROM src",
    ]
    return JobSpec("spine", [source, target, totals], inserts, slots=[SLOT])


def in_sync(conn: psycopg.Connection[Any]) -> bool:
    source = conn.execute("SELECT id, name, amount FROM spine_src ORDER BY id").fetchall()
    target = conn.execute("SELECT id, name, amount FROM spine_dst ORDER BY id").fetchall()
    oracle = conn.execute("SELECT count(*), coalesce(sum(amount), 0) FROM spine_src").fetchone()
    totals = conn.execute("SELECT n, total FROM spine_totals WHERE k = 1").fetchone()
    return source == target and totals == oracle


def test_cdc_to_jdbc_follows_changes_and_survives_stop_and_resume(stack: Context, db: Any) -> None:
    runner = stack.engine
    job_id = runner.submit(spec(stack))
    try:
        eventually(lambda: in_sync(db), timeout=60)  # snapshot phase

        db.execute("INSERT INTO spine_src VALUES (1001, 'new', 10.00)")
        db.execute("UPDATE spine_src SET name = 'renamed', amount = amount + 1 WHERE id = 7")
        db.execute("DELETE FROM spine_src WHERE id = 3")
        eventually(lambda: in_sync(db), timeout=10)
        assert db.execute("SELECT count(*) FROM spine_dst WHERE id = 3").fetchone() == (0,)
        assert db.execute("SELECT name FROM spine_dst WHERE id = 7").fetchone() == ("renamed",)

        eventually(lambda: stack.jobmanager.completed_checkpoints(job_id) > 0, timeout=30)
        savepoint = runner.stop(job_id)
        assert stack.jobmanager.state(job_id) == "FINISHED"

        db.execute("INSERT INTO spine_src SELECT g, 'while stopped', 2 FROM generate_series(2001, 2010) g")
        db.execute("UPDATE spine_src SET amount = 99.99 WHERE id = 1001")
        db.execute("DELETE FROM spine_src WHERE id BETWEEN 10 AND 14")
        assert not in_sync(db)

        job_id = runner.submit(spec(stack), savepoint=savepoint)
        eventually(lambda: in_sync(db), timeout=60)
        assert db.execute("SELECT n, total FROM spine_totals").fetchone() == (55, Decimal("1938.99"))
    finally:
        runner.remove(job_id, [SLOT])
    slots = db.execute("SELECT slot_name FROM pg_replication_slots WHERE slot_name = %s", [SLOT]).fetchall()
    assert slots == []
