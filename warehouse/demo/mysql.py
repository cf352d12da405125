"""The demo shop in MySQL (`warehouse demo --source mysql`): the reference scenario as the seed tells it, a
MySQL order database mirrored whole into ODS by a `sync:` declaration, then the example's DWD / DWS / ADS.

The shop's tables have the MySQL types whose store types are the example's ODS types (bigint, decimal(12,2)
-> numeric(12,2), datetime(3) -> timestamp(3), text), so every downstream model runs unchanged.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path

import yaml

from warehouse.config import MySqlConnection
from warehouse.demo.generator import Op
from warehouse.demo.loader import COMMITS_PER_SECOND_WHEN_LIMITED, Meter, Progress, chunks, parameters
from warehouse.demo.schema import SHOP_DATABASE, SHOP_TABLES
from warehouse.identifiers import mysql

MYSQL_SHOP_DDL = (
    """CREATE TABLE product_catalog (
    product_id   bigint PRIMARY KEY,
    catalog_name text NOT NULL,
    updated_at   datetime(3) NOT NULL
)""",
    """CREATE TABLE orders (
    order_id     bigint PRIMARY KEY,
    user_id      bigint NOT NULL,
    shop_id      bigint NOT NULL,
    product_id   bigint NOT NULL,
    buy_fee      decimal(12, 2) NOT NULL,
    order_status text NOT NULL,
    create_time  datetime(3) NOT NULL,
    update_time  datetime(3) NOT NULL
)""",
    """CREATE TABLE orders_pay (
    pay_id       bigint PRIMARY KEY,
    order_id     bigint NOT NULL UNIQUE,
    pay_platform text NOT NULL,
    pay_time     datetime(3) NOT NULL
)""",
)
SYNC_DECLARATION = {
    "version": 2,
    "sources": [
        {
            "name": "shop",
            "description": "The shop's MySQL order database, mirrored whole into ODS (warehouse sync).",
            "database": SHOP_DATABASE,
            "schema": SHOP_DATABASE,
            "meta": {"connector": "mysql", "sync": {"include": sorted(SHOP_TABLES), "models": "ods_{table}"}},
        }
    ],
}
MIRRORED_BY_SYNC = tuple(f"ods_{name}" for name in SHOP_TABLES)


def write_variant(example: Path, target: Path) -> Path:
    """The example project with its ODS mirrors replaced by the sync declaration above (its other models, the
    profile and the macros as they are); rewritten on every call."""
    if target.exists():
        shutil.rmtree(target / "models", ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(example / "dbt_project.yml", target / "dbt_project.yml")
    if (example / "profiles.yml").is_file():  # the variant runs on the example's settings either way
        shutil.copy(example / "profiles.yml", target / "profiles.yml")
    shutil.copytree(example / "macros", target / "macros", dirs_exist_ok=True)
    shutil.copytree(example / "models", target / "models", ignore=_mirrors)
    (target / "models" / "sources.yml").write_text(yaml.safe_dump(SYNC_DECLARATION, sort_keys=False))
    ods = target / "models" / "ods" / "ods.yml"
    document = yaml.safe_load(ods.read_text())
    document["models"] = [m for m in document["models"] if m["name"] not in MIRRORED_BY_SYNC]
    ods.write_text(yaml.safe_dump(document, sort_keys=False, width=120))
    return target


def _mirrors(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name.removesuffix(".sql") in MIRRORED_BY_SYNC}


def prepare_mysql_shop(login: MySqlConnection) -> None:
    """A fresh `shop` database in the MySQL server (the demo owns it)."""
    from warehouse.mysqlclient import connect_mysql

    with connect_mysql(login) as conn:
        cursor = conn.cursor()
        cursor.execute(f"DROP DATABASE IF EXISTS {mysql(SHOP_DATABASE)}")
        cursor.execute(f"CREATE DATABASE {mysql(SHOP_DATABASE)}")
        cursor.execute(f"USE {mysql(SHOP_DATABASE)}")
        for ddl in MYSQL_SHOP_DDL:
            cursor.execute(ddl)


def apply_mysql(
    login: MySqlConnection, ops: Iterable[Op], rate: float | None = None, progress: Progress | None = None
) -> int:
    """The operations in order, in small transactions, at most `rate` per second (as loader.apply does)."""
    from warehouse.mysqlclient import connect_mysql

    operations = list(ops)
    size = 500 if rate is None else max(1, min(500, int(rate / COMMITS_PER_SECOND_WHEN_LIMITED)))
    meter = Meter(rate, progress, len(operations))
    with connect_mysql(login, SHOP_DATABASE) as conn:
        cursor = conn.cursor()
        for chunk in chunks(operations, size):
            conn.begin()
            for op in chunk:
                cursor.execute(_statement(op), parameters(op))
            conn.commit()
            meter.done(len(chunk))
    meter.finish()
    return meter.applied


def _statement(op: Op) -> str:
    table, key = mysql(op.table), mysql(SHOP_TABLES[op.table].key)
    if op.kind == "insert":
        columns = ", ".join(mysql(column) for column in op.values)
        return f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(op.values))})"
    if op.kind == "update":
        assignments = ", ".join(f"{mysql(column)} = %s" for column in op.values)
        return f"UPDATE {table} SET {assignments} WHERE {key} = %s"
    return f"DELETE FROM {table} WHERE {key} = %s"
