"""A unit test resolved against the project and the model's compiled job: what each input feeds, as events.

The model's streams decide how an input is fed: a table its SQL reads as `FOR SYSTEM_TIME AS OF` is a lookup
(its fixture rows are the dimension's content), every other table is a stream-side input whose rows arrive as a
changelog, in the order written (insert -> +I, update -> -U/+U with the previous version, delete -> -D). An
input the test does not mention is empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from warehouse.compiler import LOOKUP_SUFFIX, PROC_TIME, CompiledJob, Compiler
from warehouse.eventtime import EventTime, event_time_of
from warehouse.flinksql import table_references
from warehouse.model_config import Watermark
from warehouse.modeltests.fixtures import OP_KEY, OPS, WATERMARK_KEY, GivenInput, InputRef, UnitTest
from warehouse.modeltests.values import ValueTypeError, typed
from warehouse.project import DbtProject, Table
from warehouse.types import flink_type

Row = dict[str, Any]
Key = tuple[Any, ...]


@dataclass(frozen=True)
class Change:
    """One change of a stream-side input, as postgres-cdc would emit it (debezium op c / u / d)."""

    op: Literal["c", "u", "d"]
    before: Row | None
    after: Row | None


@dataclass(frozen=True)
class WatermarkStep:
    """`- watermark: '...'`: the input's watermark moves to `at` before the next row."""

    at: datetime


Event = Change | WatermarkStep


@dataclass(frozen=True)
class StreamInput:
    table: Table
    events: list[Event]
    event_time: EventTime | None
    uses_proc_time: bool

    @property
    def watermark(self) -> Watermark | None:
        return self.event_time.watermark if self.event_time else None

    @property
    def has_watermark_steps(self) -> bool:
        return any(isinstance(event, WatermarkStep) for event in self.events)


@dataclass(frozen=True)
class LookupInput:
    table: Table
    name: str  # the name the model's SQL reads, e.g. ods_product_catalog__lookup
    rows: list[Row]


@dataclass(frozen=True)
class Reads:
    """The tables a job reads: stream side by qualified name, lookup side by the name its SQL uses."""

    streams: dict[str, Table]
    lookups: dict[str, Table]


def column_types(table: Table) -> dict[str, str]:
    return {column.name: flink_type(column.data_type) for column in table.columns}


def key_of(table: Table, row: Row) -> Key:
    return tuple(row.get(column) for column in table.primary_key)


def job_reads(plan: CompiledJob, compiler: Compiler) -> Reads:
    streams: dict[str, Table] = {}
    lookups: dict[str, Table] = {}
    for stream in plan.streams:
        for ref in table_references(stream.sql):
            table = compiler.find_table(ref.catalog, ref.database, ref.name)
            if table is None:
                continue
            if ref.temporal and ref.name.endswith(LOOKUP_SUFFIX):
                lookups[ref.name] = table
            else:
                streams[table.unique_id] = table
    return Reads(streams, lookups)


def resolve_inputs(
    test: UnitTest, plan: CompiledJob, project: DbtProject, compiler: Compiler
) -> tuple[list[StreamInput], list[LookupInput]]:
    reads = job_reads(plan, compiler)
    given = _given_by_table(test, project, reads)
    uses_proc_time = any(PROC_TIME in stream.sql for stream in plan.streams)
    streams = [
        _stream_input(test, table, given.get(table.unique_id), project, uses_proc_time)
        for table in reads.streams.values()
    ]
    lookups = [_lookup_input(test, name, table, given.get(table.unique_id)) for name, table in reads.lookups.items()]
    return streams, lookups


def _given_by_table(test: UnitTest, project: DbtProject, reads: Reads) -> dict[str, tuple[int, GivenInput]]:
    known = {t.unique_id: t for t in [*reads.streams.values(), *reads.lookups.values()]}
    found: dict[str, tuple[int, GivenInput]] = {}
    for index, entry in enumerate(test.spec.given):
        table = _table_of(test, entry.reference, project, f"given[{index}].input")
        if table.unique_id not in known:
            read = ", ".join(sorted(t.name for t in known.values())) or "nothing"
            raise test.error(f"given[{index}].input", f"{test.model} does not read {entry.input} (it reads {read})")
        if table.unique_id in found:
            raise test.error(f"given[{index}].input", f"{entry.input} is given twice")
        found[table.unique_id] = (index, entry)
    return found


def _table_of(test: UnitTest, reference: InputRef, project: DbtProject, key: str) -> Table:
    if reference.kind == "source":
        suffix = f".{reference.source}.{reference.name}"
        tables = [t for uid, t in project.sources.items() if uid.endswith(suffix)]
    else:
        tables = [m.table for m in project.models.values() if m.name == reference.name]
    if not tables:
        raise test.error(
            key, f"{reference} is not a {'source' if reference.kind == 'source' else 'model'} of the project"
        )
    return tables[0]


def _stream_input(
    test: UnitTest, table: Table, given: tuple[int, GivenInput] | None, project: DbtProject, uses_proc_time: bool
) -> StreamInput:
    event_time = event_time_of(project, table)
    if given is None:
        return StreamInput(table, [], event_time, uses_proc_time)
    index, entry = given
    feed = _Feed(test, table, f"given[{index}]", entry.input, event_time.watermark if event_time else None)
    events = [feed.event(position, row) for position, row in enumerate(entry.rows)]
    return StreamInput(table, events, event_time, uses_proc_time)


def _lookup_input(test: UnitTest, name: str, table: Table, given: tuple[int, GivenInput] | None) -> LookupInput:
    if given is None:
        return LookupInput(table, name, [])
    index, entry = given
    feed = _Feed(test, table, f"given[{index}]", entry.input, None)
    for position, row in enumerate(entry.rows):
        feed.event(position, row)
    return LookupInput(table, name, list(feed.state.values()))


class _Feed:
    """Turns one input's fixture rows into changes, keeping each key's current version."""

    def __init__(self, test: UnitTest, table: Table, key: str, label: str, watermark: Watermark | None) -> None:
        self.test = test
        self.table = table
        self.key = key  # where the input is in the file, e.g. given[1]
        self.label = label  # how the file names it, e.g. ref('ods_orders')
        self.watermark = watermark
        self.types = column_types(table)
        self.state: dict[Key, Row] = {}

    def event(self, position: int, item: dict[str, Any]) -> Event:
        where = f"{self.key}.rows[{position}]"
        if WATERMARK_KEY in item:
            return self._watermark_step(where, item[WATERMARK_KEY])
        values = dict(item)
        op = values.pop(OP_KEY, "insert")
        if op not in OPS:
            raise self.test.error(f"{where}.{OP_KEY}", f"'{op}' is not one of {', '.join(OPS)}")
        row = self._typed(where, values)
        return {"insert": self._insert, "update": self._update, "delete": self._delete}[op](where, row)

    def _watermark_step(self, where: str, value: Any) -> WatermarkStep:
        if self.watermark is None:
            raise self.test.error(
                f"{where}.{WATERMARK_KEY}",
                f"{self.label} declares no watermark",
                hint=f"set `watermark: {{column, delay}}` in the config of {self.table.name}, or drop the step",
            )
        at = self._value(f"{where}.{WATERMARK_KEY}", value, self.types[self.watermark.column])
        return WatermarkStep(at)

    def _typed(self, where: str, values: Row) -> Row:
        unknown = [column for column in values if column not in self.types]
        if unknown:
            known = ", ".join(self.types)
            raise self.test.error(f"{where}.{unknown[0]}", f"not a column of {self.label} (columns: {known})")
        row = {column: self._value(f"{where}.{column}", value, self.types[column]) for column, value in values.items()}
        missing = [column for column in self.table.primary_key if row.get(column) is None]
        if missing:
            raise self.test.error(where, f"primary key column(s) {missing} of {self.label} missing")
        return row

    def _value(self, where: str, value: Any, type_: str) -> Any:
        try:
            return typed(value, type_)
        except ValueTypeError as exc:
            raise self.test.error(where, str(exc)) from None

    def _insert(self, where: str, row: Row) -> Change:
        key = key_of(self.table, row)
        if key in self.state:
            raise self.test.error(where, f"key {key} is inserted twice", hint="use `op: update` to change a row")
        full = {column: row.get(column) for column in self.types}
        self._check_event_time(where, full)
        self.state[key] = full
        return Change("c", None, full)

    def _update(self, where: str, row: Row) -> Change:
        before = self._existing(where, row, "updated")
        after = {**before, **row}
        self._check_event_time(where, after)
        self.state[key_of(self.table, row)] = after
        return Change("u", before, after)

    def _delete(self, where: str, row: Row) -> Change:
        before = self._existing(where, row, "deleted")
        del self.state[key_of(self.table, row)]
        return Change("d", before, None)

    def _existing(self, where: str, row: Row, done: str) -> Row:
        key = key_of(self.table, row)
        if key not in self.state:
            raise self.test.error(where, f"key {key} is {done} before it is inserted")
        return self.state[key]

    def _check_event_time(self, where: str, row: Row) -> None:
        if self.watermark and row.get(self.watermark.column) is None:
            raise self.test.error(
                f"{where}.{self.watermark.column}",
                f"{self.label} has a watermark on {self.watermark.column}: every row needs it (Flink fails on NULL)",
            )
