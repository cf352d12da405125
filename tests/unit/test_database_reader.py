"""The mirrors of a synced source share one change-log reader per database (`warehouse-mysql-database`) or
schema (`warehouse-postgres-database`, one slot), the warehouse's own Flink sources: one reader table routing
every table, and a view per table named like it. Every other job reads each table with a reader of its own
(Flink's planner takes upsert keys from a source table's primary key, which a shared reader hides)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.example_project import copy_example, plan
from warehouse.compiler import DATABASE_READER, routed_row_type, routed_view
from warehouse.config import MySqlConnection
from warehouse.connectors import mysql_database_options
from warehouse.project import Column, Table

SOURCES = """version: 2
sources:
  - name: legacy
    database: legacy
    schema: legacy
    meta: {connector: mysql}
    tables:
      - name: customers
        meta: {primary_key: [customer_id]}
        columns:
          - {name: customer_id, data_type: "bigint(20) unsigned"}
          - {name: name, data_type: "varchar(20)"}
      - name: suppliers
        meta: {primary_key: [supplier_id]}
        columns:
          - {name: supplier_id, data_type: "int(11)"}
          - {name: name, data_type: "varchar(20)"}
models:
  - name: ods_parties
    columns:
      - {name: party_id, data_type: "numeric(20,0)"}
      - {name: name, data_type: "varchar(20)"}
"""
MIRROR = "job_group='sync_it', upsert_materialize='none', meta={'warehouse_sync': {'source': 'it', 'table': 'it'}}"
MODEL = """{{ config(primary_key=['party_id'], {MIRROR}) }}

SELECT CAST(customer_id AS DECIMAL(20, 0)) AS party_id, name FROM {{ source('legacy', 'customers') }}
UNION ALL
SELECT CAST(supplier_id AS DECIMAL(20, 0)) AS party_id, name FROM {{ source('legacy', 'suppliers') }}
""".replace("{MIRROR}", MIRROR)


def test_a_mirror_reads_two_tables_of_one_mysql_database_by_one_reader(tmp_path: Path) -> None:
    project = copy_example(tmp_path)
    (project / "models" / "legacy.yml").write_text(SOURCES)
    (project / "models" / "ods" / "ods_parties.sql").write_text(MODEL)
    job = plan(project, "ods_parties")
    readers = [ddl for ddl in job.ddl if "'connector' = 'warehouse-mysql-database'" in ddl]
    assert len(readers) == 1 and not [ddl for ddl in job.ddl if "'mysql-cdc'" in ddl]
    reader = readers[0]
    assert f"`legacy`.`legacy`.`{DATABASE_READER}`" in reader
    assert "`customers` ROW<`customer_id` DECIMAL(20, 0), `name` STRING>" in reader
    assert "`suppliers` ROW<`supplier_id` INT, `name` STRING>" in reader
    assert "'chunk-key.customers' = 'customer_id'" in reader and "'chunk-key.suppliers' = 'supplier_id'" in reader
    assert "PRIMARY KEY" not in reader  # the tables' keys differ; each sink has its own
    views = [ddl for ddl in job.ddl if ddl.startswith("CREATE TEMPORARY VIEW `legacy`.`legacy`.")]
    assert [view.split("\n")[0] for view in views] == [
        "CREATE TEMPORARY VIEW `legacy`.`legacy`.`customers` AS",
        "CREATE TEMPORARY VIEW `legacy`.`legacy`.`suppliers` AS",
    ]
    assert not job.mysql_reads and not job.slots  # it reports its snapshot's end (SnapshotReportingSource.java)
    assert [str(r) for r in job.readers] == ["mysql:legacy.legacy: customers, suppliers (one reader)"]  # `compile`


PG_MIRROR_YML = """version: 2
models:
  - name: ods_mirror
    columns:
      - {name: id, data_type: bigint}
      - {name: label, data_type: text}
"""
PG_MIRROR = """{{ config(primary_key=['id'], {MIRROR}) }}
SELECT order_id AS id, order_status AS label FROM {{ source('shop', 'orders') }}
UNION ALL
SELECT pay_id AS id, pay_platform AS label FROM {{ source('shop', 'orders_pay') }}
""".replace("{MIRROR}", MIRROR)


def test_a_routed_view_selects_its_tables_row_and_only_its_changes() -> None:
    columns = (Column("id", "bigint"), Column("value", "text"))
    table = Table("source.legacy.order", "legacy", "legacy", "order", columns, ("id",), connector="mysql")
    view = routed_view(table, ("legacy", "legacy", DATABASE_READER))
    assert view == (
        "CREATE TEMPORARY VIEW `legacy`.`legacy`.`order` AS\n"
        "SELECT r.`order`.`id` AS `id`, r.`order`.`value` AS `value`, PROCTIME() AS `proc_time`\n"
        f"FROM `legacy`.`legacy`.`{DATABASE_READER}` AS r WHERE r.`wh_table` = 'order'"
    )
    assert routed_row_type(table) == "ROW<`id` BIGINT, `value` STRING>"


@pytest.mark.parametrize(
    ("reader", "other"),
    [("sync_shop.mysql:shop", "sync_shop@b.mysql:shop"), ("sync_shop.mysql:shop", "sync_crm.mysql:shop")],
)
def test_each_database_reader_takes_server_ids_of_its_own(reader: str, other: str) -> None:
    first = mysql_database_options(MySqlConnection(), "shop", {"orders": "order_id"}, reader)
    second = mysql_database_options(MySqlConnection(), "shop", {"orders": "order_id"}, other)
    assert first["server-id"] != second["server-id"]
    low, high = (int(part) for part in first["server-id"].split("-"))
    assert high - low == 7 and low >= 10_000
    assert first["password"].startswith("${password:") and "table-name" not in first


def test_a_mirror_reads_two_tables_of_one_postgres_schema_through_one_slot_and_publication(tmp_path: Path) -> None:
    job = plan(mirror_project(tmp_path), "ods_mirror")
    readers = [ddl for ddl in job.ddl if "'connector' = 'warehouse-postgres-database'" in ddl]
    assert len(readers) == 1 and not [ddl for ddl in job.ddl if "'postgres-cdc'" in ddl]
    assert "'slot.name' = 'wh_ods_mirror__public__tables'" in readers[0]
    assert "'debezium.publication.name' = 'wh_ods_mirror__public__tables'" in readers[0]
    assert "`orders` ROW<" in readers[0] and "`orders_pay` ROW<" in readers[0]
    assert [slot.tables for slot in job.slots] == [("orders", "orders_pay")]


def test_any_other_job_reads_each_table_by_a_reader_of_its_own(tmp_path: Path) -> None:
    job = plan(copy_example(tmp_path), "dwd_orders")  # orders and payments: the planner needs each table's key
    own = [ddl for ddl in job.ddl if "'connector' = 'postgres-cdc'" in ddl]
    assert len(own) == 2 and not [ddl for ddl in job.ddl if "warehouse-postgres-database" in ddl]
    assert [(slot.name, slot.tables) for slot in job.slots] == [
        ("wh_dwd_orders__ods_orders", ("ods_orders",)),
        ("wh_dwd_orders__ods_orders_pay", ("ods_orders_pay",)),
    ]
    assert [str(r) for r in job.readers] == [
        "postgres:warehouse.ods.ods_orders",
        "postgres:warehouse.ods.ods_orders_pay",
    ]


def mirror_project(tmp_path: Path) -> Path:
    project = copy_example(tmp_path)
    (project / "models" / "ods" / "mirror.yml").write_text(PG_MIRROR_YML)
    (project / "models" / "ods" / "ods_mirror.sql").write_text(PG_MIRROR)
    return project


def test_a_job_whose_readers_change_cannot_keep_its_state(tmp_path: Path) -> None:
    """A reader routing other tables (or a table moving to a reader of its own) is another source operator with
    other state: the job restarts clean, as for a changed query."""
    from dataclasses import replace

    from warehouse.compiler import Reader
    from warehouse.lifecycle.plan import job_change
    from warehouse.lifecycle.registry import JobRecord

    job = plan(mirror_project(tmp_path), "ods_mirror")
    live = JobRecord(job.name, job.fingerprint, job.query_fingerprint, "id", "running")
    assert job_change(job, live) == "none"
    own = [Reader("postgres:shop.public", ("orders",), False), Reader("postgres:shop.public", ("orders_pay",), False)]
    per_table = replace(job, readers=own, ddl=[*job.ddl[:-1], "(the readers' DDL)"])
    assert job_change(per_table, live) == "queries"
    assert job_change(replace(job, ddl=[*job.ddl[:-1], "(other options)"]), live) == "settings"


def test_compile_lists_each_jobs_change_log_readers(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from warehouse.cli import cli

    project = mirror_project(tmp_path)
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "compile"])
    assert result.exit_code == 0, result.output
    readers = [line.strip() for line in result.output.splitlines() if "change-log reader:" in line]
    assert sorted(readers) == [  # the mirror's job shares one reader, the others have one per table
        "change-log reader: postgres:shop.public.orders",
        "change-log reader: postgres:shop.public.orders_pay",
        "change-log reader: postgres:shop.public.product_catalog",
        "change-log reader: postgres:shop.public: orders, orders_pay (one reader)",  # the mirror's
        "change-log reader: postgres:warehouse.dwd.dwd_orders",
        "change-log reader: postgres:warehouse.ods.ods_orders_timed",
    ]


def test_a_column_retyped_in_a_table_a_shared_reader_routes_restarts_the_job_clean(tmp_path: Path) -> None:
    """Its state holds the old type: as with a reader of its own, no savepoint can carry it over."""
    from tests.unit.example_project import edit
    from warehouse.lifecycle.plan import job_change, retyped
    from warehouse.lifecycle.registry import JobRecord

    project = mirror_project(tmp_path)
    before = plan(project, "ods_mirror")
    live = JobRecord(before.name, before.fingerprint, before.query_fingerprint, "id", "running")
    live.spec["columns"] = before.column_types
    edit(
        project,
        "models/sources.yml",
        "{name: pay_id, data_type: bigint}",
        "{name: pay_id, data_type: integer}",
    )
    after = plan(project, "ods_mirror")
    assert retyped(before.column_types, after.column_types) == ["orders_pay.pay_id"]
    assert job_change(after, live) == "queries"
