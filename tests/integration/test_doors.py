"""The doors are locked: the store password (a sentinel here, see the `stack` fixture) is in no file the warehouse
writes, in no registry row and in no output; the embedded store asks every client for a password; and the read
paths (`warehouse sql`, `explore`) run as a role that cannot write, whatever text they are given."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from tests.conftest import SENTINEL_PASSWORD
from warehouse.cli import cli
from warehouse.context import Context
from warehouse.explore.adhoc import ReadOnlyError
from warehouse.explore.batch import ExploreError
from warehouse.secrets import READER_USER
from warehouse.store import connect

OPTIONS_HINT = (
    "SELECT shop_id FROM dws_shop_daily /*+ OPTIONS('table-name'="
    "'(SELECT lo_from_bytea(0, ''x'')::bigint AS shop_id) AS t') */"
)


def warehouse(context: Context, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--project-dir", str(context.project_dir), *args])
    return result.output + (str(result.exception) if result.exception else "")


def files_holding(folder: Path, secret: str) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file() and path.parent.name != "secrets" and "postgres/data" not in str(path):
            try:
                if secret.encode() in path.read_bytes():
                    found.append(str(path))
            except OSError:
                continue
    return found


def test_the_password_is_in_no_file_row_or_output(shop: Context, stack: Context) -> None:
    assert shop.store.password.get_secret_value() == SENTINEL_PASSWORD  # the stack really uses the sentinel
    outputs = [
        warehouse(shop, "compile"),
        warehouse(shop, "plan"),
        warehouse(shop, "status"),
        warehouse(shop, "doctor"),
        warehouse(shop, "sql", "SELECT COUNT(*) FROM ods_orders"),
        warehouse(shop, "sql", "SELECT no_such_column FROM ods_orders"),  # an error from Flink
        warehouse(shop, "explore", "dws_shop_daily", "-n", "3"),
    ]
    assert not [text for text in outputs if SENTINEL_PASSWORD in text]
    for folder in {shop.project_dir, stack.project_dir, shop.settings.profile.home}:
        assert files_holding(folder, SENTINEL_PASSWORD) == [], folder
    with connect(shop.store) as conn:
        rows = conn.execute("SELECT job FROM _warehouse.jobs WHERE spec::text LIKE %s", [f"%{SENTINEL_PASSWORD}%"])
        assert rows.fetchall() == []
        assert conn.execute("SELECT count(*) FROM _warehouse.jobs").fetchone() != (0,)


def test_the_embedded_store_asks_for_a_password(shop: Context) -> None:
    store = shop.store
    for password in (None, "wrong"):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host=store.host, port=store.port, user="postgres", password=password, dbname="warehouse")
    with psycopg.connect(
        host=store.host, port=store.port, user="postgres", password=SENTINEL_PASSWORD, dbname="warehouse"
    ) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("postgres",)


@pytest.mark.parametrize(
    "statement",
    [
        OPTIONS_HINT,
        OPTIONS_HINT.replace("/*+", "/* +"),
        "INSERT INTO dws_shop_daily SELECT * FROM dws_shop_daily",
        "SELECT 1; INSERT INTO dws_shop_daily SELECT * FROM dws_shop_daily",
        "SET 'table.dynamic-table-options.enabled' = 'true'",
        "CREATE TEMPORARY TABLE t (x INT) WITH ('connector' = 'jdbc')",
        "EXECUTE STATEMENT SET BEGIN INSERT INTO dws_shop_daily SELECT * FROM dws_shop_daily; END",
    ],
)
def test_warehouse_sql_refuses_what_could_write(shop: Context, statement: str) -> None:
    with pytest.raises(ReadOnlyError):
        shop.sql(statement)


@pytest.mark.parametrize(
    "where",
    [
        "md5('abs') = 'x'",  # a function named after an allowed one's argument
        "repeat('lower', 100000000) = 'x'",
        "shop_id = lo_from_bytea(0, 'x')",
        "shop_id IN (SELECT 1)",
        "pg_sleep(10) IS NULL",
    ],
)
def test_explore_refuses_filters_beyond_its_allow_list(shop: Context, where: str) -> None:
    with pytest.raises(ExploreError):
        shop.explore_batch("dws_shop_daily", where=where)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO dws.dws_shop_daily (shop_id, ds) VALUES (-1, current_date)",
        "SELECT lo_from_bytea(0, 'x')",
        "CREATE TABLE public.t (x int)",
        "UPDATE dws.dws_shop_daily SET order_cnt = 0",
    ],
)
def test_the_read_only_role_cannot_write_even_when_asked_directly(shop: Context, statement: str) -> None:
    reader = shop.store.as_reader()
    assert reader.user == READER_USER
    with connect(reader) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute(statement)


def test_the_read_paths_work_as_the_read_only_role(shop: Context) -> None:
    assert shop.explore_batch("dws_shop_daily", limit=3).num_rows == 3
    assert shop.sql("SELECT COUNT(*) FROM dws_shop_daily").rows
    changes = list(shop.explore_stream("ods_product_catalog", snapshot=True, limit=2, timeout=30))
    assert len(changes) == 2
