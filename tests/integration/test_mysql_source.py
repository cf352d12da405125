"""A MySQL source, read by mysql-cdc from the embedded MariaDB (binlog ROW), into an ODS table of the store:
every mapped type (unsigned integers, tinyint(1), decimal, enum, json, datetime vs timestamp) equal to the
source after the snapshot and after inserts, updates and deletes; the MySQL password never on disk."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import bare_project, eventually, remove_jobs
from tests.integration.test_doors import files_holding
from warehouse.context import Context
from warehouse.errors import StackError
from warehouse.mysqlclient import connect_mysql

pytestmark = pytest.mark.integration

SETUP = """CREATE TABLE orders (
  order_id bigint unsigned PRIMARY KEY, shop_id int NOT NULL, flag tinyint(1), fee decimal(12,2),
  status enum('new','paid'), created datetime(3), seen timestamp(6) NULL, note json, big bigint unsigned,
  small smallint unsigned, label varchar(20));
INSERT INTO orders VALUES
 (1, 7, 1, 12.50, 'new', '2024-01-01 10:00:00.123', '2024-01-01 10:00:00.654321', '{"a": [1, 2]}',
  18446744073709551615, 65535, 'héllo ✓'),
 (2, 8, 2, NULL, 'paid', NULL, NULL, NULL, 0, 0, NULL),
 (3, 9, 0, 0.01, NULL, '1999-12-31 23:59:59.999', '2038-01-19 03:14:07.999999', '[]', 42, 1, '');
"""
SOURCES = """version: 2
sources:
  - name: legacy
    database: legacy
    schema: legacy
    meta: {connector: mysql}
    tables:
      - name: orders
        meta: {primary_key: [order_id]}
        columns:
          - {name: order_id, data_type: "bigint(20) unsigned"}
          - {name: shop_id, data_type: "int(11)"}
          - {name: flag, data_type: "tinyint(1)"}
          - {name: fee, data_type: "decimal(12,2)"}
          - {name: status, data_type: "enum('new','paid')"}
          - {name: created, data_type: "datetime(3)"}
          - {name: seen, data_type: "timestamp(6)"}
          - {name: note, data_type: json}
          - {name: big, data_type: "bigint(20) unsigned"}
          - {name: small, data_type: "smallint(5) unsigned"}
          - {name: label, data_type: "varchar(20)"}
models:
  - name: ods_legacy_orders
    columns:
      - {name: order_id, data_type: "numeric(20,0)"}
      - {name: shop_id, data_type: integer}
      - {name: flag, data_type: smallint}
      - {name: fee, data_type: "numeric(12,2)"}
      - {name: status, data_type: text}
      - {name: created, data_type: "timestamp(3)"}
      - {name: seen, data_type: "timestamp(6)"}
      - {name: note, data_type: jsonb}
      - {name: big, data_type: "numeric(20,0)"}
      - {name: small, data_type: integer}
      - {name: label, data_type: "varchar(20)"}
"""
MODEL = """{{ config(primary_key=['order_id']) }}

SELECT order_id, shop_id, flag, fee, status, created, CAST(seen AS TIMESTAMP(6)) AS seen, note, big, small, label
FROM {{ source('legacy', 'orders') }}
"""
COLUMNS = "order_id, shop_id, flag, fee, status, created, seen, note, big, small, label"


@pytest.fixture(scope="module")
def legacy(stack: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """A project with one MySQL source on the session's stack; `up` starts MariaDB and runs its setup."""
    project = bare_project(tmp_path_factory.mktemp("legacy"), stack.project_dir / "profiles.yml")
    (project / "models" / "legacy.yml").write_text(SOURCES)
    (project / "models" / "ods" / "ods_legacy_orders.sql").write_text(MODEL)
    (project / "setup" / "legacy.mysql.sql").write_text(SETUP)
    context = Context(project, progress=lambda message: None)
    context.up()
    yield context
    remove_jobs(context)


def source_rows(context: Context) -> list[tuple[Any, ...]]:
    mysql = context.settings.profile.mysql_connection()
    with connect_mysql(mysql, "legacy") as conn:
        cursor = conn.cursor()
        cursor.execute(f"SELECT {COLUMNS} FROM orders")
        return sorted(_normal(row) for row in cursor.fetchall())


def ods_rows(context: Context) -> list[tuple[Any, ...]]:
    from warehouse.store import connect

    with connect(context.settings.profile.store_connection()) as conn:
        return sorted(_normal(row) for row in conn.execute(f"SELECT {COLUMNS} FROM ods.ods_legacy_orders").fetchall())


def _normal(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """Values as both sides can hold them: numbers as Decimal, JSON parsed, timestamps without zone."""
    values = list(row)
    values[7] = json.loads(values[7]) if isinstance(values[7], str) else values[7]
    return tuple(Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in values)


def test_a_mysql_table_is_mirrored_with_every_type_exactly(legacy: Context) -> None:
    legacy.run("ods_legacy_orders")  # a selection: a whole-project run would retire the shop's jobs
    eventually(lambda: source_rows(legacy) == ods_rows(legacy), timeout=180, interval=2)
    mysql = legacy.settings.profile.mysql_connection()
    with connect_mysql(mysql, "legacy") as conn:
        cursor = conn.cursor()
        cursor.execute("INSERT INTO orders (order_id, shop_id, flag, note) VALUES (4, 10, 127, %s)", ['{"b": null}'])
        cursor.execute(
            "UPDATE orders SET fee = 99.99, status = 'paid', seen = '2024-06-30 23:59:59.000001' WHERE order_id = 1"
        )
        cursor.execute("DELETE FROM orders WHERE order_id = 2")
    eventually(lambda: source_rows(legacy) == ods_rows(legacy), timeout=120, interval=2)
    assert len(ods_rows(legacy)) == 3


def test_the_mysql_password_is_in_no_file_but_its_secret(legacy: Context) -> None:
    """Flink's logs included (Debezium logs its configuration), and the compiled jobs."""
    password = legacy.settings.profile.mysql_connection().password.get_secret_value()
    assert len(password) > 16
    legacy.compile()
    for folder in {legacy.project_dir, legacy.settings.profile.home}:
        assert files_holding(folder, password) == [], folder


def test_doctor_checks_the_mysql_server_of_the_sources(legacy: Context) -> None:
    from warehouse.doctor import run_checks

    (check,) = [check for check in run_checks(legacy.settings) if check.name == "mysql"]
    assert check.ok and "ROW binlog, replication privileges" in check.detail, check


def test_a_mysql_setup_script_runs_once_and_a_failing_one_is_retried(legacy: Context, tmp_path: Path) -> None:
    shutil.copy(legacy.project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "setup").mkdir()
    script = tmp_path / "setup" / "scratch_2.mysql.sql"
    script.write_text("CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO missing VALUES (1);\n")
    context = Context(tmp_path, progress=lambda message: None)
    with pytest.raises(StackError) as caught:
        context.up()
    assert caught.value.where == str(script) and "scratch_2.missing' doesn't exist" in caught.value.message
    assert caught.value.hint == "fix the SQL and run `warehouse up` again"
    script.write_text("CREATE TABLE t (id int PRIMARY KEY);\nINSERT INTO t VALUES (1);\n")
    context.up()
    context.up()  # not again: the database exists
    with connect_mysql(context.settings.profile.mysql_connection(), "scratch_2") as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT count(*) FROM t")
        assert cursor.fetchone() == (1,)
