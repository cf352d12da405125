"""The OLTP schema of the demo shop (database `shop`, schema `public`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg
from psycopg import sql

from warehouse.identifiers import pg

SHOP_DATABASE = "shop"
SHOP_SCHEMA = "public"
ORDER_STATUSES = ("created", "paid", "shipped", "completed", "cancelled")


@dataclass(frozen=True)
class ShopTable:
    name: str
    key: str
    columns: tuple[str, ...]
    ddl: LiteralString


PRODUCT_CATALOG = ShopTable(
    name="product_catalog",
    key="product_id",
    columns=("product_id", "catalog_name", "updated_at"),
    ddl="""
CREATE TABLE public.product_catalog (
    product_id   bigint PRIMARY KEY,
    catalog_name text NOT NULL,
    updated_at   timestamp(3) NOT NULL
)""",
)

ORDERS = ShopTable(
    name="orders",
    key="order_id",
    columns=("order_id", "user_id", "shop_id", "product_id", "buy_fee", "order_status", "create_time", "update_time"),
    ddl="""
CREATE TABLE public.orders (
    order_id     bigint PRIMARY KEY,
    user_id      bigint NOT NULL,
    shop_id      bigint NOT NULL,
    product_id   bigint NOT NULL,
    buy_fee      numeric(12, 2) NOT NULL,
    order_status text NOT NULL,
    create_time  timestamp(3) NOT NULL,
    update_time  timestamp(3) NOT NULL
)""",
)

# No foreign key to orders: a payment may arrive before its order.
ORDERS_PAY = ShopTable(
    name="orders_pay",
    key="pay_id",
    columns=("pay_id", "order_id", "pay_platform", "pay_time"),
    ddl="""
CREATE TABLE public.orders_pay (
    pay_id       bigint PRIMARY KEY,
    order_id     bigint NOT NULL UNIQUE,
    pay_platform text NOT NULL,
    pay_time     timestamp(3) NOT NULL
)""",
)

SHOP_TABLES: dict[str, ShopTable] = {table.name: table for table in (PRODUCT_CATALOG, ORDERS, ORDERS_PAY)}


def create_shop_schema(conn: psycopg.Connection[Any]) -> None:
    """Drop and re-create the three OLTP tables (empty), with full replica identity for CDC."""
    with conn.transaction():
        for table in SHOP_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {} CASCADE").format(pg(SHOP_SCHEMA, table.name)))
        for table in SHOP_TABLES.values():
            conn.execute(sql.SQL(table.ddl))
            conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(pg(SHOP_SCHEMA, table.name)))
