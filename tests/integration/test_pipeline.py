"""The example warehouse end to end: ODS -> DWD -> DWS -> ADS as continuous jobs, checked against the
independent oracle (tests/integration/oracle.py: the business logic restated in PostgreSQL SQL over the
OLTP tables), then re-run unchanged, then upgraded one model at a time."""

from __future__ import annotations

from typing import Any

import psycopg

from tests.conftest import feed
from tests.helpers import eventually
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig
from warehouse.store import connect

MORE = DemoConfig(seed=12, n_orders=400, n_users=80, n_shops=12, n_products=40, first_id=100_000)


def job_ids(context: Context) -> dict[str, str | None]:
    return {name: record.job_id for name, record in context.lifecycle.registry.all().items()}


def test_every_layer_equals_the_oracle(shop: Context) -> None:
    """The `shop` fixture fed orders, payments (10% before their order), updates and deletes."""
    assert_drains_to_oracle(shop)
    with connect(shop.store, database="shop") as conn:
        payments = conn.execute("SELECT count(*) FROM orders_pay").fetchone()
        products = conn.execute("SELECT count(*) FROM product_catalog").fetchone()
    assert payments and payments[0] > 0 and products
    counted = {s.job: (s.records_in, s.records_out) for s in shop.status()}
    assert min(counted["ods_product_catalog"]) >= products[0]  # chained from source to sink: one vertex
    assert min(counted["ods_orders"]) > 0, counted  # its CDC sources are chained with their sinks too
    # Every job read rows since it (re)started; a window job writes only when a window closes.
    assert all(rows_in for rows_in, _ in counted.values()), counted


def test_second_run_restarts_nothing(shop: Context) -> None:
    before = job_ids(shop)
    actions = shop.run()
    assert {a.action for a in actions} == {"unchanged"}, actions
    assert job_ids(shop) == before


def test_changing_one_dws_model_rebuilds_only_what_reads_it(shop: Context) -> None:
    """dws_shop_daily runs in one job with ads_shop_metrics (which reads its query directly) and dws_user_daily
    and ads_user_metrics (which share its read of dwd_orders): the job restarts clean, the changed model and its
    reader in the job are cleared and rebuilt, the other two are recomputed in place; other jobs keep running."""
    before = job_ids(shop)
    assert shop.lifecycle.registry.all()["dws_shop_daily"].members == [
        "dws_shop_daily",
        "ads_shop_metrics",
        "dws_user_daily",
        "ads_user_metrics",
    ]
    model = shop.project_dir / "models" / "dws" / "dws_shop_daily.sql"
    model.write_text(
        model.read_text().replace("WHERE shop_id IS NOT NULL", "WHERE shop_id IS NOT NULL AND buy_fee >= 0")
    )
    shop.refresh()
    actions = {a.model: a.action for a in shop.run(in_place=True)}  # blue/green: test_bluegreen.py
    assert {name: action for name, action in actions.items() if action != "unchanged"} == {
        "dws_shop_daily": "rebuilt",
        "ads_shop_metrics": "rebuilt",
        "dws_user_daily": "restarted",
        "ads_user_metrics": "restarted",
    }
    after = job_ids(shop)
    assert after["dws_shop_daily"] != before["dws_shop_daily"]
    assert {k: v for k, v in after.items() if k != "dws_shop_daily"} == {
        k: v for k, v in before.items() if k != "dws_shop_daily"
    }
    feed(shop, MORE, products=False)
    assert_drains_to_oracle(shop)


def rejected(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    return [(str(m), str(k)) for m, k in conn.execute("SELECT model, row_key FROM _warehouse.rejected_rows ORDER BY 1")]


def test_a_row_without_a_key_is_rejected_and_kept_not_fatal(shop: Context) -> None:
    with connect(shop.store) as conn:
        conn.execute("INSERT INTO dwd.dwd_orders (order_id, user_id, shop_id, buy_fee) VALUES (-1, 7, 7, 1.00)")
        eventually(lambda: len(rejected(conn)) == 2, timeout=60, interval=1)
        assert rejected(conn) == [
            ("dws_shop_daily", '{"ds":null,"shop_id":"7"}'),
            ("dws_user_daily", '{"ds":null,"user_id":"7"}'),
        ]
        statuses = {s.job: s for s in shop.status()}
        assert all(s.state == "RUNNING" for s in statuses.values()), statuses
        assert statuses["dws_shop_daily"].rejected == 2  # the job that runs both
        conn.execute("DELETE FROM dwd.dwd_orders WHERE order_id = -1")
        eventually(lambda: rejected(conn) == [], timeout=60, interval=1)
    assert_drains_to_oracle(shop)


def test_stop_and_resume_lose_nothing(shop: Context) -> None:
    stopped = shop.stop("dws_user_daily+")  # stops the job that runs them, with its other models
    job = ["dws_shop_daily", "ads_shop_metrics", "dws_user_daily", "ads_user_metrics"]
    assert [a.model for a in stopped] == job
    assert all(a.detail.startswith("file:") for a in stopped)  # the savepoint
    assert {s.job: s.state for s in shop.status()}["dws_shop_daily"] == "STOPPED"
    feed(shop, MORE.model_copy(update={"seed": 13, "first_id": 200_000}), products=False)
    resumed = shop.resume("dws_user_daily+")
    assert [a.model for a in resumed] == job
    assert_drains_to_oracle(shop)


def test_a_state_compatible_change_restarts_from_a_savepoint(shop: Context) -> None:
    model = shop.project_dir / "models" / "dwd" / "dwd_orders.sql"
    model.write_text(model.read_text().replace("ttl='10min'", "ttl='5min'"))
    shop.refresh()
    actions = {a.model: a.action for a in shop.run()}
    upgraded = {"ods_orders", "ods_orders_pay", "dwd_orders", "ods_orders_timed"}  # dwd_orders' job
    assert {name for name, action in actions.items() if action == "upgraded"} == upgraded
    assert {name for name, action in actions.items() if action != "unchanged"} == upgraded
    feed(shop, MORE.model_copy(update={"seed": 14, "first_id": 300_000}), products=False)
    assert_drains_to_oracle(shop)


def test_a_full_refresh_rebuilds_the_selection_and_recomputes_its_job_mates_in_place(shop: Context) -> None:
    """ods_orders shares its job with ods_orders_pay and ods_orders_timed, which are not selected: they are
    recomputed in place, never dropped, so dws_shop_minutely (another job, reading ods_orders_timed's binlog)
    keeps running on an intact table."""
    before = job_ids(shop)
    timed = _count(shop, "ods.ods_orders_timed")
    actions = {a.model: a.action for a in shop.run("ods_orders", full_refresh=True)}
    assert {name: action for name, action in actions.items() if name.startswith(("ods", "dwd"))} == {
        "ods_orders": "rebuilt",
        "ods_orders_pay": "restarted",
        "dwd_orders": "rebuilt",
        "ods_orders_timed": "restarted",
    }
    assert job_ids(shop)["dws_shop_minutely"] == before["dws_shop_minutely"]
    assert _count(shop, "ods.ods_orders_timed") == timed
    assert_drains_to_oracle(shop)


def test_a_model_removed_from_a_job_leaves_it_and_the_others_keep_their_rows(shop: Context) -> None:
    record = shop.lifecycle.registry.all()["dws_shop_daily"]
    rows = _count(shop, "dws.dws_user_daily")
    next(shop.project_dir.joinpath("models").rglob("ads_user_metrics.sql")).unlink()
    shop.refresh()
    actions = {a.model: a.action for a in shop.run()}
    assert {name: action for name, action in actions.items() if action != "unchanged"} == {
        "dws_shop_daily": "restarted",
        "ads_shop_metrics": "restarted",
        "dws_user_daily": "restarted",
    }
    assert shop.jobmanager.state(str(record.job_id)) == "CANCELED"
    assert shop.lifecycle.registry.all()["dws_shop_daily"].members == [
        "dws_shop_daily",
        "ads_shop_metrics",
        "dws_user_daily",
    ]
    assert _count(shop, "dws.dws_user_daily") == rows  # recomputed in place, never cleared
    assert_drains_to_oracle(shop, skip={"ads.ads_user_metrics"})


def test_a_removed_job_is_cancelled_and_its_slots_dropped(shop: Context) -> None:
    record = shop.lifecycle.registry.all()["dws_shop_minutely"]
    next(shop.project_dir.joinpath("models").rglob("dws_shop_minutely.sql")).unlink()
    shop.refresh()
    actions = {a.model: a.action for a in shop.run()}
    assert actions["dws_shop_minutely"] == "removed"
    assert shop.jobmanager.state(str(record.job_id)) == "CANCELED"
    with connect(shop.store) as conn:
        slots = conn.execute(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_name = %s", [record.slots[0]["name"]]
        )
        assert slots.fetchall() == []
    assert "dws_shop_minutely" not in shop.lifecycle.registry.all()


def _count(context: Context, table: str) -> int:
    with connect(context.store) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # a fixed name of the example
    return int(row[0]) if row else 0
