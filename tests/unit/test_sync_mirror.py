"""A sync of one source without services: the files it writes from a catalog, and each error a user can hit
(no key, a type no store type keeps, a bad declaration, a table gone under `exception`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr

from tests.helpers import free_port
from warehouse.config import MySqlConnection
from warehouse.errors import ConfigError, ServiceUnavailable
from warehouse.sync.declaration import SyncedSource, SyncSpec, declares_connector, find_declarations
from warehouse.sync.evolution import SchemaChangeStopped
from warehouse.sync.introspect import SourceColumn, SourceTable, mysql_tables, require_privileges, require_row_binlog
from warehouse.sync.mirror import mirror


def shop(**spec: object) -> SyncedSource:
    return SyncedSource("shop", "shop", "shop", "mysql", SyncSpec.model_validate(spec), "models/sources.yml")


def table(name: str, *columns: tuple[str, str], key: tuple[str, ...] = ("id",)) -> SourceTable:
    return SourceTable(name, tuple(SourceColumn(n, t) for n, t in columns), key)


ORDERS = table("orders", ("id", "bigint(20) unsigned"), ("seen", "timestamp(3)"), ("note", "json"))


def test_the_first_sync_writes_a_source_yml_and_a_select_per_table(tmp_path: Path) -> None:
    report = mirror(tmp_path, shop(), [ORDERS, table("tmp", ("id", "int"))])
    generated = tmp_path / "models" / "ods" / "_sync"
    assert sorted(p.name for p in report.files) == ["ods_orders.sql", "ods_tmp.sql", "shop.yml"]
    sql = (generated / "ods_orders.sql").read_text()
    assert "{{ config(primary_key=['id']) }}" in sql
    assert "SELECT `id`, CAST(`seen` AS TIMESTAMP(3)) AS `seen`, `note`\nFROM {{ source('shop', 'orders') }}" in sql
    document = yaml.safe_load((generated / "shop.yml").read_text())
    assert document["sources"][0]["meta"] == {"connector": "mysql"}
    assert document["sources"][0]["tables"][0]["columns"][0] == {"name": "id", "data_type": "bigint(20) unsigned"}
    model = document["models"][0]
    assert model["config"]["job_group"] == "sync_shop" and model["config"]["upsert_materialize"] == "none"
    assert [c["data_type"] for c in model["columns"]] == ["numeric(20,0)", "timestamp(3)", "jsonb"]
    assert report.changes == ("orders: mirrored", "tmp: mirrored")


def test_a_second_sync_of_an_unchanged_source_writes_nothing(tmp_path: Path) -> None:
    mirror(tmp_path, shop(), [ORDERS])
    assert mirror(tmp_path, shop(), [ORDERS]).files == ()


def test_a_dropped_column_under_lenient_is_selected_as_null(tmp_path: Path) -> None:
    mirror(tmp_path, shop(), [ORDERS])
    report = mirror(tmp_path, shop(), [table("orders", ("id", "bigint(20) unsigned"), ("seen", "timestamp(3)"))])
    sql = (tmp_path / "models" / "ods" / "_sync" / "ods_orders.sql").read_text()
    assert "CAST(NULL AS STRING) AS `note`" in sql
    assert report.changes == ("orders: kept column note, dropped at the source (NULL from now on)",)
    again = mirror(tmp_path, shop(), [table("orders", ("id", "bigint(20) unsigned"), ("seen", "timestamp(3)"))])
    assert again.files == ()  # the kept column is remembered


def test_a_table_no_longer_included_keeps_its_mirror_and_exclude_is_the_way_out(tmp_path: Path) -> None:
    mirror(tmp_path, shop(), [ORDERS, table("tmp", ("id", "int"))])
    report = mirror(tmp_path, shop(), [ORDERS])
    assert report.changes == ("tmp: gone from the source; its mirror is kept (exclude it to stop mirroring it)",)
    with pytest.raises(SchemaChangeStopped, match="table tmp is gone from the source; schema_changes: exception"):
        mirror(tmp_path, shop(schema_changes="exception"), [ORDERS])


def test_an_excluded_table_is_no_longer_mirrored(tmp_path: Path) -> None:
    mirror(tmp_path, shop(), [ORDERS, table("tmp", ("id", "int"))])
    report = mirror(tmp_path, shop(exclude=["tmp"]), [ORDERS, table("tmp", ("id", "int"))])
    assert report.changes == ("tmp: excluded, no longer mirrored (its table stays; a whole `run` retires its job)",)
    generated = tmp_path / "models" / "ods" / "_sync"
    assert not (generated / "ods_tmp.sql").exists() and "ods_tmp" not in (generated / "shop.yml").read_text()


def test_a_table_without_a_key_is_refused_unless_one_is_declared(tmp_path: Path) -> None:
    audit = table("audit_log", ("at", "datetime"), ("what", "text"), key=())
    with pytest.raises(ConfigError) as caught:
        mirror(tmp_path, shop(), [audit])
    assert (
        caught.value.message
        == "source shop, table audit_log has no primary key: a mirror needs one to apply updates and deletes"
    )
    assert caught.value.where == "models/sources.yml" and "keys: {audit_log: [column, ...]}" in (
        caught.value.hint or ""
    )
    assert mirror(tmp_path, shop(keys={"audit_log": ["at"]}), [audit]).tables == ("audit_log",)


def test_a_type_no_store_type_keeps_names_the_table_and_column(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        mirror(tmp_path, shop(), [table("places", ("id", "int"), ("spot", "point"))])
    assert caught.value.message.startswith("source shop, table places, column spot: the MySQL type point")
    assert "exclude the table" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("sync", "message"),
    [
        ("{models: mirror}", "meta.sync.models: Value error, must contain {table}"),
        ("{schema_changes: sometimes}", "meta.sync.schema_changes: Input should be 'evolve', 'lenient'"),
        ("{tables: [a]}", "meta.sync.tables: Extra inputs are not permitted"),
    ],
)
def test_a_wrong_declaration_names_the_key(tmp_path: Path, sync: str, message: str) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "sources.yml").write_text(
        f"version: 2\nsources:\n  - name: shop\n    database: shop\n    meta:\n      sync: {sync}\n"
    )
    with pytest.raises(ConfigError) as caught:
        find_declarations(tmp_path, ["models"])
    assert caught.value.message.startswith(f"source shop: {message}") and caught.value.where == "models/sources.yml"


def test_declarations_are_found_in_any_yml_but_the_generated_ones(tmp_path: Path) -> None:
    mirror(tmp_path, shop(), [ORDERS])  # writes models/ods/_sync/shop.yml (sources without sync)
    (tmp_path / "models" / "a.yml").write_text("sources:\n  - {name: pg, database: app, meta: {sync: {}}}\n")
    found = find_declarations(tmp_path, ["models"])
    assert [(s.name, s.schema, s.connector, s.where) for s in found] == [("pg", "app", "postgres", "models/a.yml")]


class FakeCursor:
    def __init__(self, rows: list[tuple[str, str]]) -> None:
        self.rows = rows

    def execute(self, query: str) -> None:
        pass

    def fetchall(self) -> list[tuple[str, str]]:
        return self.rows


@pytest.mark.parametrize(
    ("settings", "wrong"),
    [
        ([("log_bin", "OFF"), ("binlog_format", "ROW"), ("binlog_row_image", "FULL")], "log_bin=OFF"),
        ([("log_bin", "ON"), ("binlog_format", "MIXED"), ("binlog_row_image", "FULL")], "binlog_format=MIXED"),
        ([("log_bin", "ON"), ("binlog_format", "ROW"), ("binlog_row_image", "MINIMAL")], "binlog_row_image=MINIMAL"),
    ],
)
def test_a_binlog_a_reader_cannot_follow_is_refused_with_the_fix(settings: list[tuple[str, str]], wrong: str) -> None:
    with pytest.raises(ConfigError) as caught:
        require_row_binlog(FakeCursor(settings), "shop")
    assert caught.value.message == f"source shop: the MySQL server's binlog cannot be followed ({wrong})"
    assert caught.value.hint == "start the server with --log-bin --binlog-format=ROW --binlog-row-image=FULL"


def test_an_unreachable_mysql_source_names_the_source_and_the_profile_key() -> None:
    mysql = MySqlConnection(port=free_port(), password=SecretStr("x"))
    with pytest.raises(ServiceUnavailable) as caught:
        mysql_tables(mysql, "shop", "shop")
    assert caught.value.message.startswith("source shop: cannot log in to MySQL as warehouse_cdc")
    assert caught.value.hint == "check `mysql` in profiles.yml"


ALL_BUT_SELECT = "RELOAD, REPLICATION SLAVE, REPLICATION CLIENT"


@pytest.mark.parametrize(
    ("grants", "missing"),
    [
        (["GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `cdc`@`%`"], None),
        (["GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO `cdc`@`%`"], None),  # MariaDB's name
        (["GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"], None),
        (["GRANT SELECT ON *.* TO `cdc`@`%`"], ALL_BUT_SELECT),
        (["GRANT USAGE ON *.* TO `cdc`", "GRANT SELECT ON `shop`.* TO `cdc`"], ALL_BUT_SELECT),
    ],
)  # fmt: skip
def test_a_mysql_user_without_the_replication_privileges_is_refused(grants: list[str], missing: str | None) -> None:
    if missing is None:
        require_privileges(grants, "cdc", "shop")
        return
    with pytest.raises(ConfigError) as caught:
        require_privileges(grants, "cdc", "shop")
    assert caught.value.message == f"source shop: the MySQL user cdc lacks {missing}"
    assert caught.value.hint and caught.value.hint.startswith("GRANT SELECT, RELOAD, REPLICATION SLAVE")


def test_a_table_a_reader_cannot_follow_is_refused_with_its_fix(tmp_path: Path) -> None:
    problem = "its updates do not log the old row (replica identity is not full): run `ALTER TABLE ...`"
    tags = SourceTable("tags", (SourceColumn("id", "integer"),), ("id",), problem)
    pg = SyncedSource("app", "app", "public", "postgres", SyncSpec(), "models/sources.yml")
    with pytest.raises(ConfigError, match="source app, table tags: its updates do not log the old row"):
        mirror(tmp_path, pg, [tags])
    assert mirror(tmp_path, pg, [SourceTable("tags", tags.columns, ("id",))]).tables == ("tags",)


def test_a_mysql_source_is_seen_in_the_yml_files_without_dbt(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "a.yml").write_text("sources:\n  - {name: pg, database: app}\n")
    assert not declares_connector(tmp_path, ["models"], "mysql")
    (tmp_path / "models" / "b.yml").write_text("sources:\n  - {name: legacy, meta: {connector: mysql}}\n")
    assert declares_connector(tmp_path, ["models"], "mysql")
    (tmp_path / "models" / "c.yml").write_text("sources: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        declares_connector(tmp_path, ["models"], "mysql")
    assert caught.value.where == "models/c.yml:2" and caught.value.message.startswith("not valid YAML")
