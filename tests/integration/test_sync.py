"""Whole-database sync: a MySQL database and a PostgreSQL schema, each declared once, mirrored whole into ODS
(every table, every column, read from the source's catalog) and equal to the source after inserts, updates
and deletes; a column and a table added at the source while the jobs run show up on the next `run` with no
row lost or duplicated; a narrowing under `schema_changes: exception` stops with the fix and loses nothing."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from tests.helpers import bare_project, eventually, remove_jobs
from warehouse.context import Context
from warehouse.mysqlclient import connect_mysql
from warehouse.store import connect
from warehouse.sync.evolution import SchemaChangeStopped
from warehouse.sync.follow import follow_once

pytestmark = pytest.mark.integration

MYSQL_SETUP = """CREATE TABLE orders (order_id bigint unsigned PRIMARY KEY, shop_id int NOT NULL, buy_fee decimal(12,2),
  paid tinyint(1), create_time datetime(3));
CREATE TABLE orders_pay (pay_id bigint PRIMARY KEY, order_id bigint unsigned, pay_platform varchar(16));
CREATE TABLE product_catalog (product_id int PRIMARY KEY, catalog_name varchar(40), attrs json);
CREATE TABLE audit_log (at datetime, what text);
INSERT INTO orders VALUES (1, 10, 12.50, 1, '2024-01-01 10:00:00.123'), (2, 11, NULL, 0, NULL), (3, 12, 7.00, 2, NULL);
INSERT INTO orders_pay VALUES (100, 1, 'alipay'), (101, 2, 'wechat');
INSERT INTO product_catalog VALUES (5, 'books', '{"a": 1}'), (6, 'toys', NULL);
INSERT INTO audit_log VALUES ('2024-01-01 00:00:00', 'not mirrored: no key, excluded');
"""
PG_SETUP = """CREATE TABLE public.users (user_id bigint PRIMARY KEY, name text, born date);
CREATE TABLE public.shops (shop_id integer PRIMARY KEY, title varchar(30), opened timestamptz);
CREATE TABLE public.tags (tag_id integer PRIMARY KEY, label varchar(20));
ALTER TABLE public.users REPLICA IDENTITY FULL;
ALTER TABLE public.shops REPLICA IDENTITY FULL;
ALTER TABLE public.tags REPLICA IDENTITY FULL;
INSERT INTO public.users VALUES (1, 'ann', '1990-01-01'), (2, 'bob', NULL);
INSERT INTO public.shops VALUES (10, 'north', '2024-01-01 10:00:00.5+02'), (11, 'south', NULL);
INSERT INTO public.tags VALUES (1, 'new'), (2, 'sale');
"""
DECLARATIONS = """version: 2
sources:
  - name: mshop
    database: mshop
    schema: mshop
    meta:
      connector: mysql
      sync: {exclude: [audit_log], models: "ods_m_{table}"}
  - name: pshop
    database: pshop
    schema: public
    meta:
      sync: {models: "ods_p_{table}", schema_changes: exception}
"""
# The session's stack runs the shop too: its own model names (not ods_orders) and a selection (a whole-project run
# would retire the shop's jobs).
MIRRORS = "path:models/ods/_sync"
MYSQL_TABLES = {"orders": "order_id", "orders_pay": "pay_id", "product_catalog": "product_id"}
PG_TABLES = {"users": "user_id", "shops": "shop_id", "tags": "tag_id"}


@pytest.fixture(scope="module")
def synced(stack: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    project = bare_project(tmp_path_factory.mktemp("synced"), stack.project_dir / "profiles.yml")
    (project / "models" / "sources.yml").write_text(DECLARATIONS)
    (project / "setup" / "mshop.mysql.sql").write_text(MYSQL_SETUP)
    (project / "setup" / "pshop.sql").write_text(PG_SETUP)
    context = Context(project, progress=lambda message: None)
    context.up()
    yield context
    remove_jobs(context)


def mysql_rows(context: Context, table: str) -> list[tuple[Any, ...]]:
    login = context.settings.profile.mysql_connection()
    with connect_mysql(login, "mshop") as conn:
        cursor = conn.cursor()
        cursor.execute(f"SELECT * FROM `{table}`")
        return sorted(_normal(row) for row in cursor.fetchall())


def pg_rows(context: Context, table: str) -> list[tuple[Any, ...]]:
    with connect(context.settings.profile.store_connection(), database="pshop") as conn:
        query = f"SELECT * FROM public.{table}"
        if table == "shops":
            query = "SELECT shop_id, title, opened AT TIME ZONE 'UTC' FROM public.shops"
        return sorted(_normal(row) for row in conn.execute(query).fetchall())


def ods_rows(context: Context, model: str) -> list[tuple[Any, ...]]:
    with connect(context.settings.profile.store_connection()) as conn:
        return sorted(_normal(row) for row in conn.execute(f"SELECT * FROM ods.{model}").fetchall())


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Integers as Decimal (unsigned bigints become numeric), JSON text parsed (MariaDB keeps it as text)."""
    values = []
    for value in row:
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        elif isinstance(value, str) and value[:1] in "{[":
            value = json.loads(value)
        values.append(value)
    return tuple(values)


def differences(context: Context) -> dict[str, tuple[list[Any], list[Any]]]:
    found = {}
    pairs: list[tuple[str, Callable[[Context, str], list[tuple[Any, ...]]], str]] = [
        *((f"ods_m_{t}", mysql_rows, t) for t in MYSQL_TABLES),
        *((f"ods_p_{t}", pg_rows, t) for t in PG_TABLES),
    ]
    for model, read_source, table in pairs:
        expected, actual = read_source(context, table), ods_rows(context, model)
        if expected != actual:
            found[model] = (expected, actual)
    return found


def mysql_execute(context: Context, *statements: str) -> None:
    login = context.settings.profile.mysql_connection()
    with connect_mysql(login, "mshop") as conn:
        cursor = conn.cursor()
        for statement in statements:
            cursor.execute(statement)


def pg_execute(context: Context, *statements: str) -> None:
    with connect(context.settings.profile.store_connection(), database="pshop") as conn:
        for statement in statements:
            conn.execute(statement)


def binlog_readers(context: Context) -> int:
    """The binlog connections the warehouse's readers hold on the MySQL server (its own user's threads)."""
    login = context.settings.profile.mysql_connection()
    with connect_mysql(login, "mshop") as conn:
        cursor = conn.cursor()
        cursor.execute("SHOW PROCESSLIST")
        return sum(1 for row in cursor.fetchall() if str(row[4]).startswith("Binlog Dump"))


def pg_readers(context: Context) -> dict[str, list[str]]:
    """The sync job's replication slots on the store, each with the tables its publication holds."""
    with connect(context.settings.profile.store_connection(), database="pshop") as conn:
        query = "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'wh%sync_pshop%'"
        slots = [str(row[0]) for row in conn.execute(query).fetchall()]
        query = "SELECT tablename FROM pg_publication_tables WHERE pubname = %s ORDER BY tablename"
        return {slot: [str(row[0]) for row in conn.execute(query, [slot]).fetchall()] for slot in slots}


def snapshot_ends(context: Context, job: str) -> dict[str, float]:
    """Per table the job's CDC readers read: when its snapshot ended (0: not yet), from the readers' metrics."""
    job_id = str(context.lifecycle.registry.all()[job].job_id)
    vertices = [v for v in context.jobmanager.job(job_id)["vertices"] if str(v["name"]).startswith("Source: ")]
    metrics = [t for v in vertices for t in context.jobmanager.table_snapshot_metrics(job_id, str(v["id"]))]
    return {str(i): table.get("snapshotEndTime", 0.0) for i, table in enumerate(metrics)}


def snapshot_ended(context: Context, job: str) -> dict[str, float]:
    """The job's snapshot ends once every table's has (empty until then)."""
    ends = snapshot_ends(context, job)
    return ends if ends and all(end > 0 for end in ends.values()) else {}


def test_two_databases_are_mirrored_whole_and_follow_every_change(synced: Context) -> None:
    reports = {report.source: report for report in synced.sync()}
    assert reports["mshop"].tables == ("orders", "orders_pay", "product_catalog")  # audit_log: excluded
    assert reports["pshop"].tables == ("shops", "tags", "users")
    actions = {action.model: action for action in synced.run(MIRRORS)}
    assert set(actions) == {f"ods_m_{t}" for t in MYSQL_TABLES} | {f"ods_p_{t}" for t in PG_TABLES}
    jobs = {r.job for r in synced.lifecycle.registry.all().values() if set(r.members) & set(actions)}
    assert jobs == {"sync_mshop", "sync_pshop"}  # one job per source database
    eventually(lambda: not differences(synced), timeout=240, interval=2)
    eventually(lambda: binlog_readers(synced) == 1, timeout=60, interval=1)  # one reader for the three tables
    assert pg_readers(synced) == {"wh_sync_pshop__public__tables": ["shops", "tags", "users"]}  # one slot for three
    for job in ("sync_mshop", "sync_pshop"):  # each reader says when its snapshot ended (MySQL's: our wrapper's,
        # once the binlog split is assigned, which Flink CDC does at the first checkpoint after the last chunk)
        assert len(eventually(lambda job=job: snapshot_ended(synced, job), timeout=60)) == 3, job
    mysql_execute(
        synced,
        "INSERT INTO orders VALUES (4, 13, 99.99, 1, '2024-02-02 02:02:02.002')",
        "UPDATE orders SET buy_fee = 1.00, paid = 1 WHERE order_id = 2",
        "DELETE FROM orders_pay WHERE pay_id = 101",
        "UPDATE product_catalog SET attrs = '[1, 2]' WHERE product_id = 6",
    )
    pg_execute(
        synced,
        "INSERT INTO public.users VALUES (3, 'cy', '2000-02-29')",
        "UPDATE public.shops SET opened = '2024-06-30 23:59:59.000001+00' WHERE shop_id = 11",
        "DELETE FROM public.tags WHERE tag_id = 1",
    )
    eventually(lambda: not differences(synced), timeout=120, interval=2)


def test_a_column_and_a_table_added_at_the_source_show_up_with_no_row_lost(synced: Context) -> None:
    """While the mirrors run, `sync --follow`'s round evolves them: the new version is swapped in, never emptied."""
    mysql_execute(
        synced,
        "ALTER TABLE orders ADD COLUMN note varchar(20)",
        "INSERT INTO orders VALUES (5, 14, 5.00, 0, NULL, 'with a note')",
        "UPDATE orders SET note = 'old order' WHERE order_id = 1",
        "CREATE TABLE coupons (coupon_id int PRIMARY KEY, amount decimal(8,2))",
        "INSERT INTO coupons VALUES (1, 5.00), (2, 10.00)",
    )
    MYSQL_TABLES["coupons"] = "coupon_id"
    round_ = follow_once(synced)  # what `sync --follow` does every few seconds: no `run` by hand
    assert "orders: added column note (varchar(20))" in [c for report in round_.reports for c in report.changes]
    swapped = {f"ods_m_{t}": "swapped" for t in ("orders", "orders_pay", "product_catalog", "coupons")}
    assert {a.model: a.action for a in round_.actions} == swapped and not round_.problems  # pshop: unchanged
    mysql_execute(synced, "INSERT INTO coupons VALUES (3, 1.50)", "DELETE FROM orders WHERE order_id = 3")
    eventually(lambda: not differences(synced), timeout=240, interval=2)
    assert len(ods_rows(synced, "ods_m_orders")) == 4 and len(ods_rows(synced, "ods_m_coupons")) == 3
    assert binlog_readers(synced) == 1  # the new version's reader reads the four tables; the old one is gone


def test_a_narrowing_under_exception_stops_with_the_fix_and_loses_nothing(synced: Context) -> None:
    pg_execute(synced, "ALTER TABLE public.tags ALTER COLUMN label TYPE varchar(10)")
    with pytest.raises(SchemaChangeStopped) as caught:
        synced.run(MIRRORS)
    message = caught.value.message
    assert "table tags: column label: character varying(20) -> character varying(10) is not a widening" in message
    assert "schema_changes: exception stops here" in message and caught.value.where == "models/sources.yml"
    pg_execute(synced, "INSERT INTO public.tags VALUES (3, 'short')")  # the mirror keeps following
    eventually(lambda: not differences(synced), timeout=120, interval=2)
