"""Folding a model's changelog into its final table, and the readable diff of a failing unit test."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from warehouse.compiler import CompiledJob, CompiledModel, Stream
from warehouse.gateway import Row as ResultRow
from warehouse.model_config import TableSettings
from warehouse.modeltests.diff import changelog_diff, table_diff
from warehouse.modeltests.expectations import Expectation
from warehouse.modeltests.fold import Emitted, emitted, final_table
from warehouse.project import Column, Model, Table

COLUMNS = (
    Column("order_id", "bigint"),
    Column("buy_fee", "numeric(12,2)"),
    Column("create_time", "timestamp(3)"),
    Column("pay_id", "bigint"),
)


def plan(materialized: str = "continuous", streams: dict[str, list[str]] | None = None) -> CompiledJob:
    table = Table("model.x.orders", "warehouse", "dwd", "orders", COLUMNS, ("order_id",))
    model = Model(table, "models/orders.sql", materialized, TableSettings(primary_key=["order_id"]), ())
    owned = streams or {"main": ["order_id", "buy_fee", "create_time", "pay_id"]}
    written = [Stream(name, "", columns, 1) for name, columns in owned.items()]
    return CompiledJob(model.name, [CompiledModel(model, written)], [], [], [])


def change(
    op: str, order_id: int | None, fee: str | None = None, pay_id: int | None = None, stream: str = "main"
) -> Emitted:
    row = {"order_id": order_id, "buy_fee": Decimal(fee) if fee else None, "create_time": None, "pay_id": pay_id}
    return Emitted(op, stream, row)


def test_result_rows_are_typed_by_the_tables_columns() -> None:
    rows = [ResultRow("UPDATE_BEFORE", ["main", 1, 10.0, "2024-01-01T10:00:10", None])]
    (got,) = emitted(rows, plan())
    assert got == Emitted(
        "-U",
        "main",
        {"order_id": 1, "buy_fee": Decimal("10.00"), "create_time": datetime(2024, 1, 1, 10, 0, 10), "pay_id": None},
    )


def test_updates_replace_and_deletes_remove_by_key() -> None:
    changes = [
        change("+I", 1, "10.00"),
        change("+I", 2, "20.00"),
        change("-U", 1, "10.00"),
        change("+U", 1, "12.00"),
        change("-D", 2, "20.00"),
        change("+I", None, "99.00"),  # a NULL key goes to the rejected rows, not the table
    ]
    assert final_table(changes, plan()) == {(1,): change("+I", 1, "12.00").row}


def test_a_retraction_removes_the_version_it_names_and_the_previous_one_comes_back() -> None:
    changes = [change("+I", 1, "10.00"), change("+I", 1, "11.00"), change("-D", 1, "11.00"), change("-D", 3, "1.00")]
    assert final_table(changes, plan()) == {(1,): change("+I", 1, "10.00").row}
    assert final_table([*changes, change("-D", 1, "10.00")], plan()) == {}


def test_partial_update_streams_own_their_columns_and_a_key_lives_while_a_stream_holds_it() -> None:
    streams = {"orders": ["order_id", "buy_fee", "create_time"], "payments": ["order_id", "pay_id"]}
    partial = plan("partial_update", streams)
    payment_first = [change("+I", 1, pay_id=7, stream="payments"), change("+I", 1, "10.00", stream="orders")]
    row = {"order_id": 1, "buy_fee": Decimal("10.00"), "create_time": None, "pay_id": 7}
    assert final_table(payment_first, partial) == {(1,): row}
    order_deleted = [*payment_first, change("-D", 1, "10.00", stream="orders")]
    assert final_table(order_deleted, partial) == {(1,): {**row, "buy_fee": None}}
    assert final_table([*order_deleted, change("-D", 1, pay_id=7, stream="payments")], partial) == {}


def expect(kind: str, rows: list[dict[str, Any]], columns: list[str]) -> Expectation:
    return Expectation("rows" if kind == "rows" else "changelog", ("order_id",), ["order_id", *columns], rows)


def test_table_diff_shows_missing_extra_and_changed_columns() -> None:
    wanted = [
        {"order_id": 1, "buy_fee": Decimal("10.00"), "pay_id": 7},
        {"order_id": 2, "buy_fee": Decimal("20.00"), "pay_id": None},
        {"order_id": 4, "buy_fee": Decimal("4.00"), "pay_id": None},
    ]
    actual = {
        (1,): {"order_id": 1, "buy_fee": Decimal("12.50"), "create_time": None, "pay_id": None},
        (2,): {"order_id": 2, "buy_fee": Decimal("20.00"), "create_time": None, "pay_id": None},
        (3,): {"order_id": 3, "buy_fee": Decimal("3.00"), "create_time": None, "pay_id": 9},
    }
    expectation = expect("rows", wanted, ["buy_fee", "pay_id"])
    assert table_diff("orders", expectation, actual).splitlines() == [
        "final table of orders differs: 1 missing, 1 extra, 1 changed (expected 3 rows, got 3)",
        "  missing (order_id=4): buy_fee=4.00, pay_id=NULL",
        "  extra   (order_id=3): buy_fee=3.00, pay_id=9",
        "  changed (order_id=1)",
        "      buy_fee  expected 10.00  got 12.50",
        "      pay_id   expected 7      got NULL",
    ]
    del actual[(3,)], actual[(1,)]
    assert table_diff("orders", expect("rows", wanted[1:2], ["buy_fee"]), actual) == ""


def test_changelog_diff_compares_each_keys_changes_in_order() -> None:
    wanted = [
        {"op": "+I", "order_id": 1, "buy_fee": Decimal("10.00")},
        {"op": "+I", "order_id": 2, "buy_fee": Decimal("20.00")},
        {"op": "-U", "order_id": 1, "buy_fee": Decimal("10.00")},
        {"op": "+U", "order_id": 1, "buy_fee": Decimal("12.00")},
    ]
    expectation = expect("changelog", wanted, ["buy_fee"])
    interleaved = [
        change("+I", 2, "20.00"),
        change("+I", 1, "10.00"),
        change("-U", 1, "10.00"),
        change("+U", 1, "12.00"),
    ]
    assert changelog_diff("orders", expectation, interleaved) == ""
    late_dropped = [change("+I", 1, "10.00"), change("+I", 2, "20.00")]
    assert changelog_diff("orders", expectation, late_dropped).splitlines() == [
        "changelog of orders differs for 1 of 2 key(s) (- expected, + got)",
        "  (order_id=1)",
        "      +I buy_fee=10.00",
        "    - -U buy_fee=10.00",
        "    - +U buy_fee=12.00",
    ]


def test_expected_rows_compare_every_column_any_row_names_and_a_left_out_one_is_null() -> None:
    """The rule the README states (as in dbt): the compared columns are those named in any expected row."""
    from warehouse.modeltests.expectations import expectation
    from warehouse.modeltests.fixtures import UnitTest, UnitTestSpec

    written = [{"order_id": 1, "buy_fee": "10.00"}, {"order_id": 2, "pay_id": 7}]
    spec = UnitTestSpec.model_validate({"name": "t", "model": "orders", "expect": {"rows": written}})
    expected = expectation(UnitTest(spec, "unit_tests/orders.yml"), plan())
    assert expected.columns == ["order_id", "buy_fee", "pay_id"]  # create_time is named nowhere: not compared
    actual = {
        (1,): {"order_id": 1, "buy_fee": Decimal("10.00"), "create_time": datetime(2024, 1, 1), "pay_id": None},
        (2,): {"order_id": 2, "buy_fee": Decimal("5.00"), "create_time": None, "pay_id": 7},
    }
    assert table_diff("orders", expected, actual).splitlines()[1:] == [
        "  changed (order_id=2)",
        "      buy_fee  expected NULL  got 5.00",
    ]
