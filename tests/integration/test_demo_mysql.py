"""The reference scenario as the seed tells it (`warehouse demo --source mysql`): a MySQL order database
mirrored whole into ODS by `sync:`, the example's DWD / DWS / ADS unchanged, on a stack of its own. After the
generated workload (inserts, payments before orders, updates, deletes) drains, every layer equals the oracle,
run over a copy of the MySQL tables in PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.conftest import REPO, copy_project
from tests.helpers import write_profile
from tests.integration.oracle import differences
from warehouse.context import Context
from warehouse.demo.schema import SHOP_TABLES, create_shop_schema
from warehouse.identifiers import mysql
from warehouse.mysqlclient import connect_mysql
from warehouse.store import connect, ensure_database

pytestmark = pytest.mark.integration

ORACLE_SOURCE = "shop_from_mysql"  # the MySQL shop, copied into the store for the oracle


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    profile = write_profile(tmp_path_factory.mktemp("mysql-demo-profile"))
    context = Context(copy_project(REPO, tmp_path_factory.mktemp("mysql-demo"), profile))
    context.up()
    try:
        yield context
    finally:
        context.down()


def copy_mysql_shop(context: Context) -> None:
    login = context.settings.profile.mysql_connection()
    store = context.settings.profile.store_connection()
    ensure_database(store, ORACLE_SOURCE)
    with (
        connect_mysql(login, "shop") as source,
        connect(store, database=ORACLE_SOURCE) as target,
    ):
        create_shop_schema(target)
        cursor = source.cursor()
        for table in SHOP_TABLES.values():
            cursor.execute(f"SELECT {', '.join(mysql(c) for c in table.columns)} FROM {mysql(table.name)}")
            rows = cursor.fetchall()
            with target.cursor().copy(f"COPY public.{table.name} ({', '.join(table.columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)


def test_the_mysql_demo_equals_the_oracle_in_every_layer(demo: Context) -> None:
    fed = demo.demo(orders=1_500, rate=None, seed=7, source="mysql")
    assert fed > 3_000
    variant = demo.mysql_demo_project()
    assert (variant.project_dir / "models" / "ods" / "_sync" / "shop.yml").is_file()
    assert {"sync_shop"} <= set(variant.lifecycle.registry.all())  # the mirrors: one job for the database
    copy_mysql_shop(demo)
    deadline, problems = time.monotonic() + 240, "not compared yet"
    while problems and time.monotonic() < deadline:
        problems = differences(variant, source_database=ORACLE_SOURCE)
        time.sleep(2)
    assert not problems, problems
