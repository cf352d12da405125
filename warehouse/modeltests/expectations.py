"""The `expect:` of a unit test, typed by the model's columns: the final table, or the changelog.

Only the columns an expectation names are compared (the primary key always is), so a test states what it is
about and stays valid when the model gains a column. As in dbt, a column named in some row but left out of
another is expected NULL there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from warehouse.compiler import CompiledJob
from warehouse.modeltests.fixtures import CHANGELOG_OPS, OP_KEY, STREAM_KEY, UnitTest
from warehouse.modeltests.inputs import Key, Row, column_types, key_of
from warehouse.modeltests.values import ValueTypeError, typed

CHANGELOG_FIELDS = (OP_KEY, STREAM_KEY)


@dataclass(frozen=True)
class Expectation:
    kind: Literal["rows", "changelog"]
    key: tuple[str, ...]
    columns: list[str]  # compared, the key first
    rows: list[Row]  # typed; changelog entries also carry `op` and maybe `stream`

    @property
    def by_key(self) -> dict[Key, Row]:
        return {tuple(row[c] for c in self.key): row for row in self.rows}


def expectation(test: UnitTest, plan: CompiledJob) -> Expectation:
    expect = test.spec.expect
    kind: Literal["rows", "changelog"] = "rows" if expect.rows is not None else "changelog"
    written = expect.rows if expect.rows is not None else expect.changelog or []
    key = plan.model.table.primary_key
    rows = [_row(test, plan, f"expect.{kind}[{index}]", item, kind) for index, item in enumerate(written)]
    mentioned = {column for row in rows for column in row if column not in CHANGELOG_FIELDS}
    columns = [*key, *(c for c in plan.model.table.column_names() if c in mentioned and c not in key)]
    if kind == "rows":
        _check_unique_keys(test, plan, rows)
    return Expectation(kind, key, columns, rows)


def _row(test: UnitTest, plan: CompiledJob, where: str, item: dict[str, Any], kind: str) -> Row:
    table = plan.model.table
    types = column_types(table)
    values = dict(item)
    fields = {name: values.pop(name) for name in CHANGELOG_FIELDS if kind == "changelog" and name in values}
    unknown = [column for column in values if column not in types]
    if unknown:
        raise test.error(f"{where}.{unknown[0]}", f"not a column of {table.name} (columns: {', '.join(types)})")
    row = {column: _value(test, f"{where}.{column}", value, types[column]) for column, value in values.items()}
    missing = [column for column in table.primary_key if row.get(column) is None]
    if missing:
        raise test.error(where, f"primary key column(s) {missing} of {table.name} missing")
    if kind == "changelog":
        _check_changelog_fields(test, plan, where, fields)
    return {**row, **fields}


def _value(test: UnitTest, where: str, value: Any, type_: str) -> Any:
    try:
        return typed(value, type_)
    except ValueTypeError as exc:
        raise test.error(where, str(exc)) from None


def _check_changelog_fields(test: UnitTest, plan: CompiledJob, where: str, fields: dict[str, Any]) -> None:
    if fields.get(OP_KEY) not in CHANGELOG_OPS:
        got = f"got {fields[OP_KEY]!r}" if OP_KEY in fields else "missing"
        raise test.error(f"{where}.{OP_KEY}", f"expected one of {', '.join(CHANGELOG_OPS)} ({got})")
    streams = [stream.name for stream in plan.streams]
    if STREAM_KEY in fields and fields[STREAM_KEY] not in streams:
        raise test.error(f"{where}.{STREAM_KEY}", f"{plan.model.name} has no stream '{fields[STREAM_KEY]}' ({streams})")


def _check_unique_keys(test: UnitTest, plan: CompiledJob, rows: list[Row]) -> None:
    seen: set[Key] = set()
    for index, row in enumerate(rows):
        key = key_of(plan.model.table, row)
        if key in seen:
            raise test.error(f"expect.rows[{index}]", f"key {key} appears twice (the final table has one row per key)")
        seen.add(key)
