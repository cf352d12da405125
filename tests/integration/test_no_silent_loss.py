"""Off the happy path, nothing is lost without a word: rebuilt windows keep their history, values that do not
fit are rejected (never NULL), late rows are kept and counted, a job Flink rejects touches nothing that runs,
and a stopped or cancelled job resumes instead of being rebuilt. Every test ends with the layers equal to the
oracle (the windowed branch included: minutes plus the late changes they kept aside)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import feed
from tests.helpers import eventually, free_port
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.cli import cli
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig
from warehouse.errors import WarehouseError
from warehouse.lifecycle.validate import PlannerRejection
from warehouse.store import connect

SHOPS = {"n_users": 80, "n_shops": 12, "n_products": 40}
HISTORY = DemoConfig(seed=21, n_orders=40_000, first_id=1_000_000, start=datetime(2024, 2, 1), days=20, **SHOPS)


def job_ids(context: Context) -> dict[str, str | None]:
    return {name: record.job_id for name, record in context.lifecycle.registry.all().items()}


def count(conn: psycopg.Connection[Any], query: str, *args: object) -> int:
    row = conn.execute(query, list(args)).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def edit(context: Context, relative: str, old: str, new: str) -> None:
    path = context.project_dir / relative
    assert old in path.read_text(), f"{old!r} not in {relative}"
    path.write_text(path.read_text().replace(old, new))
    context.refresh()


def rejected_for(conn: psycopg.Connection[Any], order_id: int) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT model, reason, payload FROM _warehouse.rejected_rows WHERE row_key = %s ORDER BY model",
        [json.dumps({"order_id": str(order_id)}, separators=(",", ":"))],
    ).fetchall()
    return [(str(m), str(r), str(p)) for m, r, p in rows]


def test_a_value_that_does_not_fit_is_rejected_never_null(shop: Context) -> None:
    """Issue: buy_fee = 12345678901234.56 into numeric(12,2) became NULL in every layer, with no trace."""
    with connect(shop.store, database="shop") as conn:
        conn.execute("ALTER TABLE public.orders ALTER COLUMN buy_fee TYPE numeric(20,2)")
    refused = {s.name: s for s in shop.plan().steps if s.action == "refuse"}
    assert set(refused) == {"ods_orders"}  # the job that reads shop.orders (for ods_orders and ods_orders_timed)
    assert "buy_fee is numeric(20,2) in the database but declared numeric(12,2)" in refused["ods_orders"].reason
    before = job_ids(shop)
    with pytest.raises(WarehouseError, match="run refused, nothing was changed"):
        shop.run()
    assert job_ids(shop) == before

    declared = '- {name: buy_fee, data_type: "numeric(%s)"}'
    edit(shop, "models/sources.yml", declared % "12,2", declared % "20,2")
    rebuilt = {s.name: s for s in shop.plan().steps if s.action == "rebuild"}
    assert set(rebuilt) == {"ods_orders"}  # a column's type changes: no state survives it
    assert all(step.decision.destructive for step in rebuilt.values())
    assert rebuilt["ods_orders"].clears == ()  # the same queries: recomputed in place, nothing cleared
    actions = {a.model: a.action for a in shop.run()}
    assert actions["ods_orders"] == actions["ods_orders_timed"] == "restarted", actions
    with connect(shop.store, database="shop") as conn:
        conn.execute(
            "INSERT INTO public.orders VALUES (990001, 7, 3, 1, 12345678901234.56, 'created', "
            "'2024-01-02 10:00:00', '2024-01-02 10:00:00')"
        )
    with connect(shop.store) as conn:
        eventually(lambda: len(rejected_for(conn, 990001)) == 2, timeout=60, interval=1)
        for model, reason, payload in rejected_for(conn, 990001):
            assert reason == "buy_fee: value does not fit numeric(12,2)", (model, reason)
            assert '"buy_fee":"12345678901234.56"' in payload
        for table in ("ods.ods_orders", "ods.ods_orders_timed", "dwd.dwd_orders"):
            assert count(conn, f"SELECT count(*) FROM {table} WHERE order_id = 990001") == 0, table
        assert count(conn, "SELECT count(*) FROM dwd.dwd_orders WHERE buy_fee IS NULL AND user_id IS NOT NULL") == 0
        statuses = {s.job: s for s in shop.status()}
        assert statuses["ods_orders"].rejected == 2  # one by ods_orders, one by ods_orders_timed
        with connect(shop.store, database="shop") as oltp:
            oltp.execute("UPDATE public.orders SET buy_fee = 12.50 WHERE order_id = 990001")
        eventually(lambda: rejected_for(conn, 990001) == [], timeout=60, interval=1)
    assert_drains_to_oracle(shop)
    with connect(shop.store, database="shop") as conn:  # back as it was, for the tests that follow
        conn.execute("ALTER TABLE public.orders ALTER COLUMN buy_fee TYPE numeric(12,2)")
    edit(shop, "models/sources.yml", declared % "20,2", declared % "12,2")
    assert {a.model: a.action for a in shop.run() if a.action != "unchanged"} == {
        "ods_orders": "restarted",
        "ods_orders_pay": "restarted",
        "dwd_orders": "restarted",
        "ods_orders_timed": "restarted",
    }
    assert_drains_to_oracle(shop)


def test_a_model_flink_rejects_leaves_the_served_tables_untouched(shop: Context) -> None:
    """Issue: `run` cancelled the live job and emptied dws_shop_daily and ads_shop_metrics, then failed."""
    before = job_ids(shop)
    with connect(shop.store) as conn:
        rows = {t: count(conn, f"SELECT count(*) FROM {t}") for t in ("dws.dws_shop_daily", "ads.ads_shop_metrics")}
    assert all(rows.values())
    edit(shop, "models/dws/dws_shop_daily.sql", "COUNT(pay_id) AS paid_cnt", "COUNT(pay_idd) AS paid_cnt")
    try:
        with pytest.raises(PlannerRejection, match="pay_idd") as rejected:
            shop.run()
        assert rejected.value.where == "models/dws/dws_shop_daily.sql:6"
        assert job_ids(shop) == before
        with connect(shop.store) as conn:
            assert {t: count(conn, f"SELECT count(*) FROM {t}") for t in rows} == rows
        assert all(s.state == "RUNNING" for s in shop.status())
    finally:
        edit(shop, "models/dws/dws_shop_daily.sql", "COUNT(pay_idd) AS paid_cnt", "COUNT(pay_id) AS paid_cnt")
    assert {a.action for a in shop.run()} == {"unchanged"}


def test_a_late_row_is_kept_and_counted(shop: Context) -> None:
    """A change behind the watermark of a window is not dropped without a number: it is kept, with its kind."""
    late = "SELECT change FROM _warehouse.late_rows WHERE model = 'dws_shop_minutely' AND row_key = %s ORDER BY 1"
    key = json.dumps({"order_id": "990002"}, separators=(",", ":"))
    before = {s.job: s.late for s in shop.status()}["dws_shop_minutely"]
    with connect(shop.store, database="shop") as conn:
        conn.execute(
            "INSERT INTO public.orders VALUES (990002, 9, 5, 2, 42.00, 'created', '2024-01-01 00:00:30', "
            "'2024-01-01 00:00:30')"
        )
    with connect(shop.store) as conn:
        eventually(lambda: [r for (r,) in conn.execute(late, [key])] == ["+I"], timeout=60, interval=1)
        assert {s.job: s.late for s in shop.status()}["dws_shop_minutely"] == before + 1
        assert_drains_to_oracle(shop)
        with connect(shop.store, database="shop") as oltp:
            oltp.execute("DELETE FROM public.orders WHERE order_id = 990002")
        eventually(lambda: [r for (r,) in conn.execute(late, [key])] == ["+I", "-D"], timeout=60, interval=1)
    assert_drains_to_oracle(shop)


def test_a_cancelled_job_resumes_from_its_checkpoint_instead_of_a_rebuild(shop: Context) -> None:
    record = shop.lifecycle.registry.all()["dws_shop_daily"]
    assert record.job_id
    eventually(lambda: shop.jobmanager.latest_checkpoint(str(record.job_id)), timeout=30)
    shop.jobmanager.cancel(record.job_id)
    shop.jobmanager.wait_for_state(record.job_id, {"CANCELED"}, timeout=60)
    step = next(s for s in shop.plan().steps if s.name == "dws_shop_daily")
    assert (step.action, step.decision.destructive) == ("resume", False)
    assert step.decision.restore_from and "/chk-" in step.decision.restore_from
    with connect(shop.store) as conn:
        rows = count(conn, "SELECT count(*) FROM dws.dws_shop_daily")
    actions = {a.model: a.action for a in shop.run()}
    job = {"dws_shop_daily", "ads_shop_metrics", "dws_user_daily", "ads_user_metrics"}
    assert {m for m, a in actions.items() if a == "resumed"} == job
    assert {m for m, a in actions.items() if a != "unchanged"} == job
    with connect(shop.store) as conn:
        assert count(conn, "SELECT count(*) FROM dws.dws_shop_daily") >= rows  # resumed, never cleared
    feed(shop, DemoConfig(seed=23, n_orders=200, first_id=1_950_000, **SHOPS), products=False)
    assert_drains_to_oracle(shop)


def test_an_unreachable_cluster_is_refused_and_changes_nothing(shop: Context, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue: any REST error read as UNKNOWN, and UNKNOWN as "rebuild"."""
    monkeypatch.setenv("WAREHOUSE__EMBEDDED__REST_PORT", str(free_port()))
    blind = Context(shop.project_dir)
    plan = blind.plan()
    assert plan.steps and {s.action for s in plan.steps if s.kind != "removed"} == {"refuse"}
    assert "cannot tell whether its job runs" in plan.steps[0].reason
    before = job_ids(shop)
    with pytest.raises(WarehouseError, match="nothing was changed"):
        blind.run()
    assert job_ids(shop) == before


def warehouse(context: Context, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project-dir", str(context.project_dir), *args])
    return result.exit_code, result.output


def test_a_reviewed_plan_is_applied_only_while_nothing_moved(shop: Context, tmp_path: Path) -> None:
    reviewed = tmp_path / "plan.json"
    edit(shop, "models/dwd/dwd_orders.sql", "max_rows=100000", "max_rows=80000")
    code, output = warehouse(shop, "plan", "--out", str(reviewed))
    assert code == 0 and "dwd_orders" in output and "-> upgrade" in output, output
    edit(shop, "models/dwd/dwd_orders.sql", "max_rows=80000", "max_rows=60000")
    code, output = warehouse(shop, "run", "--plan", str(reviewed))
    assert code == 2 and "moved since the plan was reviewed" in output and "ods_orders: compiled" in output, output
    code, output = warehouse(shop, "plan", "--out", str(reviewed))
    assert code == 0, output
    code, output = warehouse(shop, "run", "--plan", str(reviewed))
    assert code == 0 and "upgraded" in output, output
    edit(shop, "models/dwd/dwd_orders.sql", "max_rows=60000", "max_rows=100000")  # back as it was
    assert {a.action for a in shop.run() if a.model == "dwd_orders"} == {"upgraded"}
    assert_drains_to_oracle(shop)


def test_a_rebuilt_window_model_keeps_its_history(shop: Context) -> None:
    """Issue: a full refresh over existing orders came back with 0 of 27 343 minute windows."""
    feed(shop, HISTORY, products=False)
    assert_drains_to_oracle(shop, timeout=420)
    with connect(shop.store) as conn:
        minutes = count(conn, "SELECT count(*) FROM dws.dws_shop_minutely")
    assert minutes > 10_000  # the comparison above is not vacuous
    actions = {a.model: a.action for a in shop.run("dws_shop_minutely", full_refresh=True)}
    assert actions == {"dws_shop_minutely": "rebuilt"}
    assert_drains_to_oracle(shop, timeout=300)  # with no new order: `run` released the watermark itself
    with connect(shop.store) as conn:
        assert count(conn, "SELECT count(*) FROM dws.dws_shop_minutely") >= minutes
        assert count(conn, "SELECT count(*) FROM _warehouse.late_rows WHERE model = 'dws_shop_minutely'") == 0
