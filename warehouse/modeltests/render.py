"""The Flink SQL of one unit test: the model's own stream SELECTs over fixture inputs, in one bounded job.

- A stream-side input `warehouse.ods.x` becomes a filesystem table `x__wh_fixture` over a debezium-json file
  (one change per line, read in file order, a real +I/-U/+U/-D changelog like postgres-cdc's) with the same
  columns, primary key, `proc_time` and WATERMARK as the job declares, and a view named `warehouse.ods.x`, so
  the model's SQL is run unchanged. A watermark step is a marker row whose event time is the step plus the
  delay; the view filters it out after the watermark was taken from it.
- A lookup-side input is a JDBC lookup table named as the model reads it, over a scratch table in the store.
- The query is the model's stream views (as the job declares them), each column cast to the sink's type as
  the job's INSERT would, all streams in one UNION ALL tagged with the stream's name.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from warehouse.compiler import PROC_TIME, CompiledJob, Stream
from warehouse.config import StoreConnection
from warehouse.connectors import FlinkColumn, LookupCache, jdbc_lookup_options, table_ddl
from warehouse.eventtime import EventTime, read_columns, rowtime_copy
from warehouse.identifiers import flink, flink_string
from warehouse.model_config import Watermark
from warehouse.modeltests.inputs import Event, LookupInput, Row, StreamInput, WatermarkStep, column_types
from warehouse.modeltests.values import interval, to_json
from warehouse.project import Table

FIXTURE_SUFFIX = "__wh_fixture"
STEP_MARKER = "__wh_watermark_step"
STREAM_COLUMN = "__wh_stream"
JOB_PREFIX = "wh_unit_"


def session_properties(test_name: str) -> dict[str, str]:
    """Bounded input in streaming mode, one task per operator, no restarts (a failure is the test's result), and a
    watermark emitted by every row that moves it (with an interval of 0 Flink's watermark assigner emits eagerly
    instead of on a timer)."""
    return {
        "execution.runtime-mode": "streaming",
        "restart-strategy.type": "none",
        "pipeline.auto-watermark-interval": "0",
        "parallelism.default": "1",
        "table.local-time-zone": "UTC",
        "pipeline.name": f"{JOB_PREFIX}{test_name}",
    }


def changelog_lines(stream: StreamInput) -> list[str]:
    """The input's events as debezium-json lines, in arrival order."""
    return [json.dumps(_debezium(event, stream.watermark)) for event in stream.events]


def _debezium(event: Event, watermark: Watermark | None) -> dict[str, Any]:
    if isinstance(event, WatermarkStep):
        assert watermark is not None, "a watermark step on an input without watermark passed validation"
        after = {STEP_MARKER: True, watermark.column: to_json(event.at + interval(watermark.delay))}
        return {"before": None, "after": after, "op": "c"}
    return {"before": _json_row(event.before), "after": _json_row(event.after), "op": event.op}


def _json_row(row: Row | None) -> dict[str, Any] | None:
    return None if row is None else {column: to_json(value) for column, value in row.items()}


def declarations(
    streams: Sequence[StreamInput],
    lookups: Sequence[LookupInput],
    files: dict[str, Path],
    scratch: dict[str, str],
    store: StoreConnection,
) -> list[str]:
    """Catalogs, fixture tables and their views, lookup tables: everything the stream views read."""
    statements = _catalogs([*(s.table for s in streams), *(lookup.table for lookup in lookups)])
    for stream in streams:
        statements += [_fixture_table(stream, files[stream.table.unique_id]), _input_view(stream)]
    for lookup in lookups:
        statements.append(_lookup_table(lookup, scratch[lookup.name], store))
    return statements


def _catalogs(tables: Sequence[Table]) -> list[str]:
    catalogs = sorted({table.database for table in tables})
    databases = sorted({(table.database, table.schema) for table in tables})
    statements = [f"CREATE CATALOG {flink(c)} WITH ('type' = 'generic_in_memory')" for c in catalogs]
    return statements + [f"CREATE DATABASE IF NOT EXISTS {flink(c, d)}" for c, d in databases]


def _fixture_table(stream: StreamInput, path: Path) -> str:
    table = stream.table
    columns = [FlinkColumn(name, type_) for name, type_ in column_types(table).items()]
    if stream.has_watermark_steps:
        columns.append(FlinkColumn(STEP_MARKER, "BOOLEAN"))
    extra = [f"{flink(PROC_TIME)} AS PROCTIME()"] if stream.uses_proc_time else []
    if stream.event_time:
        extra += [*rowtime_copy(stream.event_time), watermark_clause(stream.event_time)]
    options = {"connector": "filesystem", "path": path.resolve().as_uri(), "format": "debezium-json"}
    name = (table.database, table.schema, table.name + FIXTURE_SUFFIX)
    return table_ddl(name, columns, table.primary_key, options, extra)


def watermark_clause(event: EventTime) -> str:
    """The same WATERMARK the job declares on the table: `rowtime - INTERVAL 'n' UNIT`."""
    amount, unit = event.watermark.delay.split()
    rowtime = flink(event.rowtime)
    return f"WATERMARK FOR {rowtime} AS {rowtime} - INTERVAL {flink_string(amount)} {unit.rstrip('S')}"


def _input_view(stream: StreamInput) -> str:
    table = stream.table
    own = read_columns(table, stream.event_time) if stream.event_time else table.column_names()
    columns = [*own, *([PROC_TIME] if stream.uses_proc_time else [])]
    source = flink(table.database, table.schema, table.name + FIXTURE_SUFFIX)
    steps_filtered = f" WHERE {flink(STEP_MARKER)} IS NULL" if stream.has_watermark_steps else ""
    select = f"SELECT {', '.join(flink(c) for c in columns)} FROM {source}{steps_filtered}"
    return f"CREATE TEMPORARY VIEW {flink(table.database, table.schema, table.name)} AS\n{select}"


def _lookup_table(lookup: LookupInput, scratch_table: str, store: StoreConnection) -> str:
    table = lookup.table
    columns = [FlinkColumn(name, type_) for name, type_ in column_types(table).items()]
    options = jdbc_lookup_options(store, table.database, scratch_table, LookupCache())
    return table_ddl((table.database, table.schema, lookup.name), columns, table.primary_key, options)


def stream_views(plan: CompiledJob) -> list[str]:
    """The model's streams, exactly as its job declares them."""
    return [f"CREATE TEMPORARY VIEW {_view(stream)} AS\n{stream.sql}" for stream in plan.streams]


def query(plan: CompiledJob) -> str:
    """Every stream's rows as the sink receives them: all table columns (NULL where the stream has none)."""
    return "\nUNION ALL\n".join(_stream_select(plan, stream) for stream in plan.streams)


def _stream_select(plan: CompiledJob, stream: Stream) -> str:
    casts = [flink_string(stream.name) + f" AS {flink(STREAM_COLUMN)}"]
    for column, type_ in column_types(plan.model.table).items():
        value = flink(column) if column in stream.columns else "NULL"
        casts.append(f"CAST({value} AS {type_}) AS {flink(column)}")
    return f"SELECT {', '.join(casts)}\nFROM {_view(stream)}"


def _view(stream: Stream) -> str:
    return flink(f"wh_stream_{stream.name}")
