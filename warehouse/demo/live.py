"""`warehouse demo`: the e-commerce warehouse, live.

Creates the OLTP tables in database `shop`, starts every model's job on them, then feeds orders,
payments (some before their order), status updates, price corrections and deletes at a given rate,
printing the busiest shops from the ADS serving table as they change.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import psycopg

from warehouse.config import StoreConnection
from warehouse.demo.generator import DemoConfig, Op, generate
from warehouse.demo.loader import apply
from warehouse.demo.schema import SHOP_DATABASE, create_shop_schema
from warehouse.errors import WarehouseError
from warehouse.store import connect

Progress = Callable[[str], None]
TOP_SHOPS = (
    "SELECT shop_id, total_orders, paid_orders, total_gmv, paid_gmv FROM ads.ads_shop_metrics "
    "ORDER BY total_gmv DESC, shop_id LIMIT 5"
)


def prepare_shop(store: StoreConnection) -> None:
    """Fresh OLTP tables (the demo owns database `shop`)."""
    with connect(store, database=SHOP_DATABASE) as conn:
        create_shop_schema(conn)


Applier = Callable[[list[Op], float | None, Progress | None], int]


def feed(
    store: StoreConnection, config: DemoConfig, rate: float | None, say: Progress, to: Applier | None = None
) -> int:
    """Load products, wait until the ODS layer has them (the DWD lookup needs them), then the order stream;
    `to` applies operations to the OLTP database (default: the store's `shop` database)."""
    ops = generate(config)
    products = [op for op in ops if op.table == "product_catalog"]
    applier = to or _store_applier(store)
    with connect(store) as warehouse:
        applier(products, None, None)
        _await_products(warehouse, len(products), say)
        say(f"feeding {len(ops) - len(products):,} changes at {rate or 'full speed'} ops/s")
        applied = applier(_orders(ops), rate, _reporter(warehouse, say))
    return applied + len(products)


def _store_applier(store: StoreConnection) -> Applier:
    def apply_to_store(ops: list[Op], rate: float | None, progress: Progress | None) -> int:
        with connect(store, database=SHOP_DATABASE) as shop:
            return apply(shop, ops, rate=rate, progress=progress)

    return apply_to_store


def settle(store: StoreConnection, say: Progress, quiet_for: float = 5, timeout: float = 120) -> None:
    """Watch the ADS table until it has not changed for `quiet_for` seconds: the layers caught up."""
    started = time.monotonic()
    with connect(store) as conn:
        last, last_change = conn.execute(TOP_SHOPS).fetchall(), time.monotonic()
        while time.monotonic() - last_change < quiet_for and time.monotonic() - started < timeout:
            time.sleep(0.5)
            rows = conn.execute(TOP_SHOPS).fetchall()
            if rows != last:
                last, last_change = rows, time.monotonic()
        say(f"ADS settled {last_change - started:.1f}s after the last change was fed")
        _print_top(conn, say)


def _orders(ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.table != "product_catalog"]


def _await_products(conn: psycopg.Connection[Any], expected: int, say: Progress, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = conn.execute("SELECT count(*) FROM ods.ods_product_catalog").fetchone()
        if row and row[0] >= expected:
            say(f"ODS has all {expected} products")
            return
        time.sleep(0.5)
    raise WarehouseError("the ODS layer did not receive the products within 2 minutes", hint="check `warehouse status`")


def _reporter(conn: psycopg.Connection[Any], say: Progress) -> Progress:
    last = [0.0]

    def report(message: str) -> None:
        say(message)
        if time.monotonic() - last[0] >= 3:
            last[0] = time.monotonic()
            _print_top(conn, say)

    return report


def _print_top(conn: psycopg.Connection[Any], say: Progress) -> None:
    rows = conn.execute(TOP_SHOPS).fetchall()
    if not rows:
        say("ads.ads_shop_metrics is still empty (the layers are catching up)")
        return
    lines = [f"{'shop':>6} {'orders':>7} {'paid':>6} {'gmv':>12} {'paid_gmv':>12}"]
    lines += [f"{shop:>6} {orders:>7} {paid:>6} {gmv:>12} {paid_gmv:>12}" for shop, orders, paid, gmv, paid_gmv in rows]
    say("top shops in ads.ads_shop_metrics:\n    " + "\n    ".join(lines))
