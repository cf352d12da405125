"""Exploring the running example warehouse: batch snapshots, live change streams, ad-hoc Flink SQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from decimal import Decimal

import psycopg
import pytest

from tests.helpers import eventually
from warehouse.context import Context
from warehouse.explore.adhoc import ReadOnlyError
from warehouse.explore.batch import read_only_connection
from warehouse.explore.binlog import Change
from warehouse.explore.pgoutput import AFTER_UPDATE, BEFORE_UPDATE, DELETE, INSERT
from warehouse.store import connect

ROW = (-42, 5, 5, 1, Decimal("12.50"), "created", "2024-01-02 10:00:00", "books")


def explore_slots(context: Context, prefix: str = "wh_explore_") -> list[str]:
    with connect(context.store) as conn:
        rows = conn.execute("SELECT slot_name FROM pg_replication_slots WHERE starts_with(slot_name, %s)", [prefix])
        return [str(name) for (name,) in rows.fetchall()]


def test_batch_equals_a_direct_query(shop: Context) -> None:
    table = shop.explore_batch(
        "dws_shop_daily",
        columns=["shop_id", "ds", "gmv"],
        where="order_cnt >= 2 AND shop_id <= 6",
        order_by=["gmv desc", "shop_id"],
        limit=7,
    )
    with connect(shop.store) as conn:
        expected = conn.execute(
            "SELECT shop_id, ds, gmv FROM dws.dws_shop_daily WHERE order_cnt >= 2 AND shop_id <= 6 "
            "ORDER BY gmv DESC NULLS LAST, shop_id LIMIT 7"
        ).fetchall()
    assert len(expected) == 7
    assert [tuple(row.values()) for row in table.to_pylist()] == expected


def test_batch_runs_read_only(shop: Context) -> None:
    with read_only_connection(shop.store) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM dwd.dwd_orders WHERE order_id = 1")
    with connect(shop.store) as conn:
        assert conn.execute("SELECT count(*) FROM dwd.dwd_orders WHERE order_id = 1").fetchone() != (0,)


def test_insert_update_delete_show_as_5_3_7_2_with_increasing_lsns(shop: Context) -> None:
    changes: list[Change] = []

    def read() -> None:
        for change in shop.explore_stream("dwd_orders", timeout=60):
            if change.row["order_id"] == -42:
                changes.append(change)
                if len(changes) == 4:
                    return

    reader = threading.Thread(target=read)
    reader.start()
    eventually(lambda: explore_slots(shop), timeout=20)
    with connect(shop.store) as conn:
        conn.execute(
            "INSERT INTO dwd.dwd_orders (order_id, user_id, shop_id, product_id, buy_fee, order_status, "
            "create_time, catalog_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            ROW,
        )
        conn.execute("UPDATE dwd.dwd_orders SET buy_fee = 13.75 WHERE order_id = -42")
        conn.execute("DELETE FROM dwd.dwd_orders WHERE order_id = -42")
    reader.join(70)
    assert [c.event_type for c in changes] == [INSERT, BEFORE_UPDATE, AFTER_UPDATE, DELETE]
    lsns = [c.lsn for c in changes]
    assert lsns == sorted(lsns) and len(set(lsns)) == 4
    assert [c.row["buy_fee"] for c in changes] == [
        Decimal("12.50"),
        Decimal("12.50"),
        Decimal("13.75"),
        Decimal("13.75"),
    ]
    assert all(c.row["order_id"] == -42 for c in changes)
    first = changes[0].record()
    assert list(first)[:3] == ["hg_binlog_lsn", "hg_binlog_event_type", "hg_binlog_timestamp_us"]
    assert explore_slots(shop) == []


def test_snapshot_then_changes(shop: Context, capsys: pytest.CaptureFixture[str]) -> None:
    with connect(shop.store) as conn:
        rows = conn.execute("SELECT count(*) FROM ods.ods_product_catalog").fetchone()
    assert rows
    capsys.readouterr()
    changes = list(shop.explore_stream("ods_product_catalog", snapshot=True, limit=rows[0], timeout=30))
    assert len(changes) == rows[0] and {c.event_type for c in changes} == {INSERT}
    following = "following ods.ods_product_catalog: its rows as of now, then every change committed from now on"
    assert following in capsys.readouterr().err  # said once the slot exists, before the first row


def explore_process(shop: Context) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "warehouse.cli", "--project-dir", str(shop.project_dir)]
    command += ["explore", "dwd_orders", "--stream"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=os.environ.copy())


@pytest.mark.parametrize("ending", [signal.SIGINT, signal.SIGKILL])
def test_no_slot_is_left_after_ctrl_c_or_kill(shop: Context, ending: signal.Signals) -> None:
    process = explore_process(shop)
    slot = eventually(lambda: [s for s in explore_slots(shop) if s.startswith(f"wh_explore_{process.pid}_")], 60)
    assert len(slot) == 1
    process.send_signal(ending)
    process.wait(30)
    if ending == signal.SIGKILL:
        shop.explore_stream("dwd_orders", limit=0, timeout=1)  # the next command reaps at the latest
    eventually(lambda: not [s for s in explore_slots(shop) if s.startswith(f"wh_explore_{process.pid}_")], 20)


def test_batch_sql_through_flink_equals_postgres(shop: Context) -> None:
    result = shop.sql("SELECT shop_id, SUM(order_cnt) AS orders FROM dws_shop_daily GROUP BY shop_id")
    with connect(shop.store) as conn:
        expected = conn.execute("SELECT shop_id, sum(order_cnt) FROM dws.dws_shop_daily GROUP BY shop_id").fetchall()
    assert sorted(tuple(row.fields) for row in result.rows) == sorted((k, int(v)) for k, v in expected)
    assert result.complete


def test_stream_sql_shows_row_kinds_and_drops_its_slot(shop: Context) -> None:
    result = shop.sql(
        "SELECT shop_id, COUNT(*) AS n FROM dwd_orders WHERE shop_id = 1 GROUP BY shop_id",
        stream=True,
        limit=3,
        timeout=60,
    )
    assert [row.kind for row in result.rows] == ["INSERT", "UPDATE_BEFORE", "UPDATE_AFTER"]
    assert not result.complete
    eventually(lambda: explore_slots(shop, "wh_sql_") == [], timeout=30)


def test_sql_refuses_writes_to_the_catalog(shop: Context) -> None:
    with pytest.raises(ReadOnlyError, match="INSERT is refused"):
        shop.sql("INSERT INTO dwd_orders SELECT * FROM dwd_orders")
