"""Pure parts of exploration: pgoutput decoding, snapshot visibility, query building, formats, refusals."""

from __future__ import annotations

import io
import json
import os
import struct
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

from warehouse.explore.adhoc import ReadOnlyError, _only_a_query
from warehouse.explore.batch import ExploreError, _to_arrow, arrow_type, select_query
from warehouse.explore.binlog import Snapshot, _lsn, _parse_snapshot
from warehouse.explore.output import terminal_table, write_batch
from warehouse.explore.pgoutput import AFTER_UPDATE, BEFORE_UPDATE, DELETE, INSERT, POSTGRES_EPOCH_US, Decoder
from warehouse.project import Column, Table
from warehouse.store import session_slot_name, slot_owner_pid

TABLE = Table(
    "model.x.dws_shop_daily",
    "warehouse",
    "dws",
    "dws_shop_daily",
    (
        Column("shop_id", "bigint"),
        Column("ds", "date"),
        Column("gmv", "numeric(18,2)"),
        Column("note", "text"),
        Column("seen", "timestamp(3)"),
    ),
    ("shop_id", "ds"),
)


def tuple_data(*values: str | None) -> bytes:
    out = struct.pack(">h", len(values))
    for value in values:
        out += b"n" if value is None else b"t" + struct.pack(">I", len(value.encode())) + value.encode()
    return out


def relation_message(relid: int) -> bytes:
    columns = [("order_id", 20), ("name", 25)]
    body = struct.pack(">I", relid) + b"dwd\0" + b"dwd_orders\0" + b"f" + struct.pack(">h", len(columns))
    for name, oid in columns:
        body += b"\1" + name.encode() + b"\0" + struct.pack(">Ii", oid, -1)
    return b"R" + body


def test_pgoutput_insert_update_delete_become_binlog_events() -> None:
    decoder = Decoder()
    commit_us = 1_000_000
    assert decoder.decode(b"B" + struct.pack(">qqI", 0, commit_us, 77)) == []
    assert decoder.decode(relation_message(16400)) == []
    insert = decoder.decode(b"I" + struct.pack(">I", 16400) + b"N" + tuple_data("1", "a"))
    update = decoder.decode(
        b"U" + struct.pack(">I", 16400) + b"O" + tuple_data("1", "a") + b"N" + tuple_data("1", None)
    )
    delete = decoder.decode(b"D" + struct.pack(">I", 16400) + b"O" + tuple_data("1", None))
    events = insert + update + delete
    assert [e.event_type for e in events] == [INSERT, BEFORE_UPDATE, AFTER_UPDATE, DELETE]
    assert [e.values for e in events] == [("1", "a"), ("1", "a"), ("1", None), ("1", None)]
    assert events[0].relation.columns == ("order_id", "name") and events[0].relation.name == "dwd_orders"
    assert all(e.xid == 77 and e.commit_time_us == POSTGRES_EPOCH_US + commit_us for e in events)


def test_snapshot_visibility_follows_postgres_rules() -> None:
    snapshot = _parse_snapshot("100:105:101,103")
    assert snapshot == Snapshot(100, 105, frozenset({101, 103}))
    assert snapshot.contains(99) and snapshot.contains(102) and snapshot.contains(104)
    assert not snapshot.contains(101) and not snapshot.contains(105) and not snapshot.contains(200)
    assert _lsn("1/2A") == (1 << 32) + 42


def test_select_query_is_built_from_checked_parts() -> None:
    query = select_query(TABLE, ["shop_id", "gmv"], "shop_id IN (1, 2) AND lower(note) LIKE 'a%'", ["gmv desc"], 5)
    assert query == (
        'SELECT "shop_id", "gmv" FROM "dws"."dws_shop_daily" WHERE shop_id IN (1, 2) '
        "AND LOWER(note) LIKE 'a%' ORDER BY \"gmv\" DESC NULLS LAST LIMIT 5"
    )


@pytest.mark.parametrize(
    ("where", "complaint"),
    [
        ("shop_id = 1; DELETE FROM dws.dws_shop_daily", "cannot parse"),
        ("shop_id IN (SELECT 1)", "SUBQUERY"),
        ("pg_sleep(10) IS NULL", "not allowed"),
        ("secret = 1", "not a column"),
    ],
)
def test_filters_that_are_not_plain_conditions_are_refused(where: str, complaint: str) -> None:
    with pytest.raises(ExploreError, match=complaint):
        select_query(TABLE, ["shop_id"], where, None, None)


def test_order_and_limit_are_checked() -> None:
    with pytest.raises(ExploreError, match="order by"):
        select_query(TABLE, ["shop_id"], None, ["gmv; drop table x"], None)
    with pytest.raises(ExploreError, match="limit"):
        select_query(TABLE, ["shop_id"], None, None, -1)


def test_arrow_types_and_csv_conversion_keep_nulls_and_empty_strings() -> None:
    assert arrow_type("numeric(18,2)") == pa.decimal128(18, 2)
    assert arrow_type("timestamptz") == pa.timestamp("us", tz="UTC")
    data = b'1,2024-01-02,10.50,"",2024-01-02 03:04:05.678\n2,2024-01-03,,,\n'
    table = _to_arrow(data, TABLE, TABLE.column_names())
    assert table.to_pylist() == [
        {
            "shop_id": 1,
            "ds": date(2024, 1, 2),
            "gmv": Decimal("10.50"),
            "note": "",
            "seen": datetime(2024, 1, 2, 3, 4, 5, 678000),
        },
        {"shop_id": 2, "ds": date(2024, 1, 3), "gmv": None, "note": None, "seen": None},
    ]


def sample() -> pa.Table:
    return _to_arrow(
        b'1,2024-01-02,10.50,"a, b",2024-01-02 03:04:05.678\n2,2024-01-03,,,\n', TABLE, TABLE.column_names()
    )


def test_csv_jsonl_and_parquet_round_trip_through_pyarrow(tmp_path: Path) -> None:
    table = sample()
    write_batch(table, "csv", io.StringIO(), None, tmp_path / "rows.csv")
    write_batch(table, "jsonl", io.StringIO(), None, tmp_path / "rows.jsonl")
    write_batch(table, "parquet", io.StringIO(), None, tmp_path / "rows.parquet")
    nulls = {"null_values": [""], "strings_can_be_null": True, "quoted_strings_can_be_null": False}
    options = pa_csv.ConvertOptions(column_types=table.schema, **nulls)
    from_csv = pa_csv.read_csv(tmp_path / "rows.csv", convert_options=options)
    as_text = pa.schema([(f.name, f.type if pa.types.is_integer(f.type) else pa.string()) for f in table.schema])
    from_json = pa_json.read_json(
        tmp_path / "rows.jsonl", parse_options=pa_json.ParseOptions(explicit_schema=as_text)
    ).cast(table.schema)
    assert from_csv.equals(table)
    assert from_json.equals(table)
    assert pq.read_table(tmp_path / "rows.parquet").equals(table)


def test_the_terminal_table_round_trips_its_values() -> None:
    table = sample()
    lines = terminal_table(table.column_names, table.to_pylist())
    assert lines[-1] == "(2 rows)"
    cells = [[cell.strip() for cell in line.split("|")] for line in lines[2:-1]]
    parsed = pa.table(
        {name: [None if row[i] == "NULL" else row[i] for row in cells] for i, name in enumerate(table.column_names)}
    )
    assert parsed.cast(table.schema).equals(table)


def test_jsonl_lines_are_json() -> None:
    out = io.StringIO()
    write_batch(sample(), "jsonl", out, None, None)
    first = json.loads(out.getvalue().splitlines()[0])
    assert first == {
        "shop_id": 1,
        "ds": "2024-01-02",
        "gmv": "10.50",
        "note": "a, b",
        "seen": "2024-01-02 03:04:05.678000",
    }


@pytest.mark.parametrize(
    ("statement", "complaint"),
    [
        ("INSERT INTO dws_shop_daily SELECT * FROM dws_shop_daily", "INSERT is refused.*catalog table"),
        ("CREATE TABLE t (a INT) WITH ('connector' = 'datagen')", "CREATE is refused"),
        ("DROP TABLE dws_shop_daily", "DROP is refused"),
        ("SELECT 1; SELECT 2", "one query"),
    ],
)
def test_sql_refuses_everything_but_one_query(statement: str, complaint: str) -> None:
    with pytest.raises(ReadOnlyError, match=complaint):
        _only_a_query(statement, {"dws_shop_daily": TABLE})
    assert _only_a_query("SELECT * FROM dws_shop_daily;", {"dws_shop_daily": TABLE}) == "SELECT * FROM dws_shop_daily"


def test_a_session_slot_names_its_owner() -> None:
    name = session_slot_name("wh_explore_", 17)
    assert name == f"wh_explore_{os.getpid()}_17"
    assert slot_owner_pid(name, "wh_explore_") == os.getpid()
    assert slot_owner_pid("wh_explore_manual", "wh_explore_") == -1
