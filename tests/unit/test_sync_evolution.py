# ruff: noqa: E501  (decision tables read best one row per line)
"""The schema-change rules of a mirrored table, row by row (no services): each change under each policy."""

from __future__ import annotations

import pytest

from warehouse.sync.declaration import Policy, SyncSpec
from warehouse.sync.evolution import MirroredColumn, MirroredTable, SchemaChangeStopped, evolve, first_mirror
from warehouse.sync.introspect import SourceColumn, SourceTable

STORE = {"int": "integer", "bigint": "bigint", "smallint": "smallint", "varchar(10)": "character varying(10)"}
STORE |= {"varchar(20)": "character varying(20)", "text": "text", "date": "date"}


def source(*columns: tuple[str, str], key: tuple[str, ...] = ("id",)) -> SourceTable:
    return SourceTable("orders", tuple(SourceColumn(n, t) for n, t in columns), key)


def mirror(*columns: tuple[str, str], key: tuple[str, ...] = ("id",)) -> MirroredTable:
    return first_mirror(source(*columns, key=key), {n: STORE[t] for n, t in columns}).table


BEFORE = mirror(("id", "int"), ("note", "varchar(10)"))


def after(policy: Policy, *columns: tuple[str, str], key: tuple[str, ...] = ("id",)) -> tuple[list[str], list[str]]:
    """The mirrored columns (name:store type, `-` when kept after a drop) and the changes reported."""
    current = source(*columns, key=key)
    result = evolve(BEFORE, current, {n: STORE[t] for n, t in columns}, policy, "shop.orders")
    shown = [f"{c.name}:{c.store_type}{'' if c.at_source else '-'}" for c in result.table.columns]
    return shown, list(result.changes)


NOTE10, NOTE20 = ("note", "varchar(10)"), ("note", "varchar(20)")


@pytest.mark.parametrize(
    ("policy", "columns", "mirrored", "change"),
    [
        # a new column reaches the mirror under every policy but ignore
        ("evolve", [("id", "int"), NOTE10, ("d", "date")], ["id:integer", "note:character varying(10)", "d:date"], "added column d (date)"),
        ("lenient", [("id", "int"), NOTE10, ("d", "date")], ["id:integer", "note:character varying(10)", "d:date"], "added column d (date)"),
        ("exception", [("id", "int"), NOTE10, ("d", "date")], ["id:integer", "note:character varying(10)", "d:date"], "added column d (date)"),
        ("ignore", [("id", "int"), NOTE10, ("d", "date")], ["id:integer", "note:character varying(10)"], None),
        # a widened type too
        ("lenient", [("id", "bigint"), NOTE10], ["id:bigint", "note:character varying(10)"], "widened column id: int -> bigint"),
        ("exception", [("id", "int"), NOTE20], ["id:integer", "note:character varying(20)"], "widened column note: varchar(10) -> varchar(20)"),
        ("ignore", [("id", "bigint"), NOTE10], ["id:integer", "note:character varying(10)"], None),
        # a narrowed type: lenient keeps the wider column, evolve rebuilds
        ("lenient", [("id", "smallint"), NOTE10], ["id:integer", "note:character varying(10)"], "kept integer for the narrower column id: int -> smallint"),
        ("evolve", [("id", "smallint"), NOTE10], ["id:smallint", "note:character varying(10)"], "changed column id: int -> smallint (the table is rebuilt: run --full-refresh)"),
        ("ignore", [("id", "smallint"), NOTE10], ["id:integer", "note:character varying(10)"], None),
        # a dropped column: lenient keeps it (NULL from now on), evolve drops it
        ("lenient", [("id", "int")], ["id:integer", "note:character varying(10)-"], "kept column note, dropped at the source (NULL from now on)"),
        ("evolve", [("id", "int")], ["id:integer"], "dropped column note (the table is rebuilt: run --full-refresh)"),
        ("ignore", [("id", "int")], ["id:integer", "note:character varying(10)"], None),
        # nothing changed
        ("exception", [("id", "int"), NOTE10], ["id:integer", "note:character varying(10)"], None),
    ],
)  # fmt: skip
def test_a_change_under_a_policy(
    policy: Policy, columns: list[tuple[str, str]], mirrored: list[str], change: str | None
) -> None:
    shown, changes = after(policy, *columns)
    assert shown == mirrored
    assert changes == ([change] if change else [])


@pytest.mark.parametrize(
    ("policy", "columns", "key", "stopped"),
    [
        ("exception", [("id", "smallint"), NOTE10], ("id",), "column id: int -> smallint is not a widening"),
        ("exception", [("id", "int")], ("id",), "column note was dropped or renamed"),
        ("exception", [("id", "int"), ("memo", "varchar(10)")], ("id",), "column note was dropped or renamed"),
        ("lenient", [("id", "int"), ("note", "int")], ("id",), "column note: varchar(10) -> int is not a widening"),
        ("lenient", [("id", "int"), NOTE10], ("id", "note"), "primary key (id) -> (id, note)"),
        ("exception", [("id", "int"), NOTE10], ("note",), "primary key (id) -> (note)"),
    ],
)  # fmt: skip
def test_a_change_the_policy_does_not_let_through_stops_with_the_fix(
    policy: Policy, columns: list[tuple[str, str]], key: tuple[str, ...], stopped: str
) -> None:
    with pytest.raises(SchemaChangeStopped) as caught:
        after(policy, *columns, key=key)
    assert caught.value.message.startswith(f"shop.orders: {stopped}; schema_changes: {policy} stops here")
    assert caught.value.hint and "schema_changes: evolve" in caught.value.hint


def test_a_renamed_column_under_lenient_is_a_kept_column_and_a_new_one() -> None:
    shown, changes = after("lenient", ("id", "int"), ("memo", "varchar(10)"))
    assert shown == ["id:integer", "note:character varying(10)-", "memo:character varying(10)"]
    assert changes == ["kept column note, dropped at the source (NULL from now on)", "added column memo (varchar(10))"]


def test_a_column_that_comes_back_is_at_the_source_again() -> None:
    dropped = MirroredTable("orders", (MirroredColumn("id", "int", "integer"), MirroredColumn("note", "varchar(10)", "character varying(10)", at_source=False)), ("id",))  # fmt: skip
    result = evolve(
        dropped, source(("id", "int"), NOTE10), {"id": "integer", "note": "character varying(10)"}, "lenient", "x"
    )
    assert all(c.at_source for c in result.table.columns) and result.changes == ("column note is back at the source",)


@pytest.mark.parametrize(
    ("spec", "table", "mirrored", "model"),
    [
        (SyncSpec(), "orders", True, "ods_orders"),
        (SyncSpec(include=["order*"], exclude=["orders_tmp"]), "orders_pay", True, "ods_orders_pay"),
        (SyncSpec(include=["order*"], exclude=["orders_tmp"]), "orders_tmp", False, "ods_orders_tmp"),
        (SyncSpec(include=["order*"]), "product", False, "ods_product"),
        (SyncSpec(models="mirror_{table}"), "orders", True, "mirror_orders"),
    ],
)
def test_which_tables_are_mirrored_and_their_model_names(
    spec: SyncSpec, table: str, mirrored: bool, model: str
) -> None:
    assert spec.mirrors(table) is mirrored and spec.model_name(table) == model
