"""The demo workload against a real PostgreSQL, and the oracle checked against a restatement in Python.

The workload is applied in two parts: the first ends while some payments are waiting for their order (so that
payment-only keys exist), the second finishes the stream. After each part the database must hold exactly what a
replay of the operations in Python says, and every oracle table must equal the same business rules computed in
Python from that replay.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from tests.integration.oracle import ORACLE, diff, oracle_rows
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig, Op, Row, generate, replay
from warehouse.demo.loader import apply
from warehouse.demo.schema import create_shop_schema
from warehouse.store import connect, drop_database, ensure_database

CONFIG = DemoConfig(seed=7, n_orders=1_500, n_users=40, n_shops=15, n_products=30, product_rename_ratio=0.3)
Rows = list[tuple[Any, ...]]


OWN_DATABASE = "oracle_check"


@pytest.fixture
def shop(stack: Context) -> Iterator[psycopg.Connection[Any]]:
    """The shop schema in a database of its own: the session's `shop` database feeds the running example's jobs,
    which a schema recreated under them would leave reading dropped tables."""
    store = stack.settings.profile.store_connection()
    ensure_database(store, OWN_DATABASE)
    try:
        with connect(store, database=OWN_DATABASE) as conn:
            create_shop_schema(conn)
            yield conn
    finally:
        drop_database(store, OWN_DATABASE)


def test_workload_and_oracle_agree_with_python_mid_stream_and_at_the_end(shop: psycopg.Connection[Any]) -> None:
    ops = generate(CONFIG)
    cut = cut_with_waiting_payments(ops)
    assert apply(shop, ops[:cut], batch=97) == cut
    check_against_python(shop, ops[:cut], expect_payment_only_keys=True)
    assert apply(shop, ops[cut:]) == len(ops) - cut
    check_against_python(shop, ops, expect_payment_only_keys=False)


def test_schema_is_recreated_empty_with_full_replica_identity(shop: psycopg.Connection[Any]) -> None:
    apply(shop, generate(DemoConfig(n_orders=20, n_products=5)))
    create_shop_schema(shop)
    for table in ("product_catalog", "orders", "orders_pay"):
        assert shop.execute(f"SELECT count(*) FROM public.{table}").fetchone() == (0,)
    identities = shop.execute(
        "SELECT relname, relreplident FROM pg_class WHERE relname IN ('product_catalog', 'orders', 'orders_pay')"
    ).fetchall()
    assert sorted(identities) == [("orders", "f"), ("orders_pay", "f"), ("product_catalog", "f")]


def test_a_failing_operation_rolls_back_its_transaction(shop: psycopg.Connection[Any]) -> None:
    ops = generate(DemoConfig(n_orders=20, n_products=5))
    with pytest.raises(psycopg.errors.UniqueViolation):
        apply(shop, [*ops[:5], ops[0]], batch=3)  # the second batch re-inserts product 1
    assert shop.execute("SELECT count(*) FROM public.product_catalog").fetchone() == (3,)


def test_diff_names_missing_extra_and_changed_rows() -> None:
    expected = [(1, "a", Decimal("1.00")), (2, "b", Decimal("2.00")), (3, "c", Decimal("3.00"))]
    actual = [(1, "a", Decimal("1.0")), (3, "c", Decimal("3.01")), (4, "d", Decimal("4.00"))]
    assert diff(expected, expected, key_len=1) == ""
    report = diff(expected, actual, key_len=1, columns=["id", "name", "fee"])
    assert report.splitlines() == [
        "expected 3 rows, actual 3: 1 missing, 1 extra, 1 changed",
        "missing (2,): (2, 'b', Decimal('2.00'))",
        "extra (4,): (4, 'd', Decimal('4.00'))",
        "changed (3,): fee: expected Decimal('3.00'), actual Decimal('3.01')",
    ]
    many = diff([(key, 0) for key in range(30)], [], key_len=1)
    assert len(many.splitlines()) == 22 and many.endswith("... and 10 more")


def cut_with_waiting_payments(ops: list[Op]) -> int:
    """The first position after which at least three payments are still waiting for their order."""
    inserted_orders: set[Any] = set()
    waiting: set[Any] = set()
    for position, op in enumerate(ops):
        if op.kind == "insert" and op.table == "orders":
            inserted_orders.add(op.key)
            waiting.discard(op.key)
        elif op.kind == "insert" and op.table == "orders_pay" and op.values["order_id"] not in inserted_orders:
            waiting.add(op.values["order_id"])
        if len(waiting) >= 3 and position > len(ops) // 3:
            return position + 1
    raise AssertionError("the workload never has three payments waiting for their order")


def check_against_python(shop: psycopg.Connection[Any], ops: list[Op], expect_payment_only_keys: bool) -> None:
    state = replay(ops)
    expected = python_restatement(state)
    for layer_table, rows in expected.items():
        oracle = oracle_rows(shop, layer_table)
        table = ORACLE[layer_table]
        difference = diff(rows, oracle, len(table.key), table.columns)
        assert not difference, f"{layer_table}:\n{difference}"
        assert oracle, f"{layer_table} is empty: the comparison proves nothing"
    dwd_keys = {row["order_id"] for row in state["orders"].values()} | {
        row["order_id"] for row in state["orders_pay"].values()
    }
    dwd = oracle_rows(shop, "dwd.dwd_orders")
    assert len(dwd) == len(dwd_keys)
    payment_only = [row for row in dwd if row[1] is None]
    assert bool(payment_only) == expect_payment_only_keys
    assert all(row[7] is None and row[8] is not None for row in payment_only)


def python_restatement(state: dict[str, dict[int, Row]]) -> dict[str, Rows]:
    orders = [typed_order(row) for row in state["orders"].values()]
    payments = {row["order_id"]: typed_payment(row) for row in state["orders_pay"].values()}
    catalog = {row["product_id"]: typed_product(row) for row in state["product_catalog"].values()}
    return {
        "ods.ods_orders": sorted(orders),
        "ods.ods_orders_pay": sorted(payments.values()),
        "ods.ods_product_catalog": sorted(catalog.values()),
        "dwd.dwd_orders": dwd_orders(orders, payments, catalog),
        "dws.dws_user_daily": daily(orders, payments, by=1),
        "dws.dws_shop_daily": daily(orders, payments, by=2),
        "ads.ads_user_metrics": user_metrics(orders, payments),
        "ads.ads_shop_metrics": shop_metrics(orders, payments),
    }


def typed_order(row: Row) -> tuple[Any, ...]:
    return (
        row["order_id"], row["user_id"], row["shop_id"], row["product_id"], Decimal(str(row["buy_fee"])),
        row["order_status"], datetime.fromisoformat(str(row["create_time"])),
        datetime.fromisoformat(str(row["update_time"])),
    )  # fmt: skip


def typed_payment(row: Row) -> tuple[Any, ...]:
    return row["pay_id"], row["order_id"], row["pay_platform"], datetime.fromisoformat(str(row["pay_time"]))


def typed_product(row: Row) -> tuple[Any, ...]:
    return row["product_id"], row["catalog_name"], datetime.fromisoformat(str(row["updated_at"]))


def dwd_orders(orders: Rows, payments: dict[Any, tuple[Any, ...]], catalog: dict[Any, tuple[Any, ...]]) -> Rows:
    by_order = {order[0]: order for order in orders}
    rows = []
    for order_id in sorted(by_order.keys() | payments.keys()):
        order = by_order.get(order_id)
        pay = payments.get(order_id)
        order_part = order[1:7] if order else (None,) * 6
        catalog_name = catalog[order[3]][1] if order else None
        pay_part = (pay[0], pay[2], pay[3]) if pay else (None,) * 3
        rows.append((order_id, *order_part, catalog_name, *pay_part))
    return rows


def daily(orders: Rows, payments: dict[Any, tuple[Any, ...]], by: int) -> Rows:
    totals = totals_by(orders, payments, lambda order: (order[by], order[6].date()))
    return [(*key, *entry) for key, entry in sorted(totals.items())]


def user_metrics(orders: Rows, payments: dict[Any, tuple[Any, ...]]) -> Rows:
    days = totals_by(orders, payments, lambda order: (order[1], order[6].date()))
    rows = []
    for (user_id,), (count, _paid, gmv, paid_gmv) in sorted(totals_by(orders, payments, lambda o: (o[1],)).items()):
        active = [day for user, day in days if user == user_id]
        rows.append((user_id, count, gmv, paid_gmv, len(active), max(active)))
    return rows


def shop_metrics(orders: Rows, payments: dict[Any, tuple[Any, ...]]) -> Rows:
    totals = totals_by(orders, payments, lambda order: (order[2],))
    return [(*key, *entry) for key, entry in sorted(totals.items())]


def totals_by(
    orders: Rows, payments: dict[Any, tuple[Any, ...]], key: Callable[[tuple[Any, ...]], tuple[Any, ...]]
) -> dict[tuple[Any, ...], list[Any]]:
    """Per key: [orders, paid orders, gmv, paid gmv]."""
    totals: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for order in orders:
        paid = order[0] in payments
        entry = totals[key(order)]
        entry[0] += 1
        entry[1] += int(paid)
        entry[2] += order[4]
        entry[3] += order[4] if paid else 0
    return totals
