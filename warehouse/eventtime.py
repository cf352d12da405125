"""Event time over a binlog: a watermark that waits for the snapshot, and late rows that are kept.

**The watermark waits while the snapshot is read.** A job started over a table that already holds rows
reads them first as a snapshot, in no particular time order (postgres-cdc reads the newest chunk first).
A watermark taken from those rows would jump to the newest event time and make every older window late.
So the watermark of a binlog reader stays at the epoch for snapshot rows (their `op_ts` metadata is 0)
and follows `event time - delay` from the first change read from the log on: every window of the
history is complete when it fires, exactly as if the rows had arrived live and in order.

**Late rows are split off, never dropped.** A job that windows over such a table reads it through a view
that lets through the rows at or ahead of the watermark; the rows behind it (late: their window may have
fired) go, with their change kind (+I -U +U -D), to `_warehouse.late_rows` under the table's
`late_rows: keep` policy (the default), where `warehouse status` counts them. Under `late_rows: drop` they
reach the window, which drops them; `status` shows Flink's count of them since the job started.

**Any timestamp precision.** Flink's event time is a TIMESTAMP of precision 0 to 3. A `timestamp(6)` column
(PostgreSQL's default) keeps its microseconds: the reader declares a millisecond copy of it, `wh_rowtime`,
carries the watermark on the copy, and the model's `DESCRIPTOR(column)` is read as `DESCRIPTOR(wh_rowtime)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warehouse.catalog import LATE_ROWS, REGISTRY_SCHEMA, floor_view
from warehouse.config import StoreConnection
from warehouse.connectors import FlinkColumn, table_ddl
from warehouse.identifiers import flink, flink_string
from warehouse.model_config import Watermark
from warehouse.project import DbtProject, ModelError, Table
from warehouse.secrets import reference
from warehouse.store import jdbc_url
from warehouse.types import flink_type, parse_pg_type

OP_TS = "wh_op_ts"
ROWTIME = "wh_rowtime"
ROWTIME_PRECISION = 3
FLOOR_KEY = "wh_floor_key"
BINLOG_SUFFIX = "__binlog"
JUDGED_SUFFIX = "__judged"
FLOOR_SUFFIX = "__floor"
EPOCH = "TIMESTAMP '1970-01-01 00:00:00'"
LATE_COLUMNS = (
    FlinkColumn("model", "STRING"),
    FlinkColumn("upstream", "STRING"),
    FlinkColumn("row_key", "STRING"),
    FlinkColumn("payload", "STRING"),
    FlinkColumn("event_time", "TIMESTAMP(3)"),
    FlinkColumn("committed_at", "TIMESTAMP_LTZ(3)"),
    FlinkColumn("watermark", "TIMESTAMP(3)"),
)
WINDOW_FUNCTION = re.compile(r"\b(TUMBLE|HOP|CUMULATE|SESSION)\s*\(", re.IGNORECASE)


def reads_event_time(stream_sql: str) -> bool:
    """Whether a stream windows over event time (a window table function), so late rows matter to it."""
    return bool(WINDOW_FUNCTION.search(stream_sql)) and "DESCRIPTOR" in stream_sql.upper()


@dataclass(frozen=True)
class EventTime:
    """A table's event time: its `column`, and the `rowtime` column its WATERMARK is declared on: the column
    itself, or, for a precision above 3, its millisecond copy ROWTIME."""

    watermark: Watermark
    rowtime: str
    rowtime_type: str

    @property
    def column(self) -> str:
        return self.watermark.column

    @property
    def copied(self) -> bool:
        return self.rowtime != self.column


def event_time_of(project: DbtProject, table: Table) -> EventTime | None:
    """The event time of a model's table with a `watermark`; None for other tables."""
    model = project.models.get(table.unique_id)
    watermark = model.settings.watermark if model else None
    if model is None or watermark is None:
        return None
    declared = {c.name: c.data_type for c in table.columns}
    if watermark.column not in declared:
        raise ModelError(f"watermark column '{watermark.column}' is not a column of {table.name}", where=model.path)
    pg = parse_pg_type(declared[watermark.column])
    if pg.name != "timestamp without time zone":
        raise ModelError(
            f"watermark column '{watermark.column}' of {table.name} is {pg}; event time needs a timestamp",
            hint=f"declare it as a timestamp in the schema yml of {table.name}, or CAST it in the model",
            where=model.path,
        )
    if pg.precision is not None and pg.precision <= ROWTIME_PRECISION:
        return EventTime(watermark, watermark.column, flink_type(declared[watermark.column]))
    return EventTime(watermark, ROWTIME, f"TIMESTAMP({ROWTIME_PRECISION})")


def rowtime_copy(event: EventTime) -> list[str]:
    """The computed millisecond copy of the event-time column, when the watermark needs one."""
    if not event.copied:
        return []
    return [f"{flink(ROWTIME)} AS CAST({flink(event.column)} AS {event.rowtime_type})"]


def watermark_columns(event: EventTime) -> list[str]:
    """The extra lines of a binlog reader's DDL: `op_ts` metadata and a WATERMARK held during the snapshot."""
    rowtime, op_ts = flink(event.rowtime), flink(OP_TS)
    held = f"CAST(TIMESTAMP '1970-01-01 00:00:00' AS {event.rowtime_type})"
    delay = interval(event.watermark.delay)
    return [
        f"{op_ts} TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL",
        *rowtime_copy(event),
        f"WATERMARK FOR {rowtime} AS CASE WHEN {op_ts} = TO_TIMESTAMP_LTZ(0, 3) THEN {held} "
        f"ELSE {rowtime} - INTERVAL {delay} END",
    ]


def read_columns(table: Table, event: EventTime) -> list[str]:
    """The columns a windowing model reads of `table`: its own and the millisecond copy, if any."""
    return table.column_names() + ([ROWTIME] if event.copied else [])


def interval(delay: str) -> str:
    """`5 SECOND` as Flink's `'5' SECOND`."""
    amount, unit = delay.split()
    return f"{flink_string(amount)} {unit.rstrip('S')}"


def binlog_name(table: Table) -> tuple[str, str, str]:
    """The name of the raw binlog reader when a view of on-time rows takes the table's own name."""
    return table.database, table.schema, table.name + BINLOG_SUFFIX


def judged_name(table: Table) -> tuple[str, str, str]:
    return table.database, table.schema, table.name + JUDGED_SUFFIX


def split_reader_columns() -> list[str]:
    """Extra columns of a binlog reader whose late rows are split off: what the floor lookup joins on."""
    return [f"{flink(FLOOR_KEY)} AS 1"]


def floor_lookup_ddl(store: StoreConnection, table: Table, event: EventTime) -> str:
    """A JDBC lookup of the floor view, read once per task (re)start and kept: after a restart the watermark
    starts over, while the window's restored one does not; the floor covers the rows in between."""
    options = {
        "connector": "jdbc",
        "url": jdbc_url(store, table.database),
        "table-name": ".".join(floor_view(table)),
        "username": store.user,
        "password": reference(store.user),
        "lookup.cache": "PARTIAL",
        "lookup.partial-cache.max-rows": "1",
        "lookup.partial-cache.expire-after-write": "3650d",
    }
    columns = [FlinkColumn("k", "INT"), FlinkColumn("newest", event.rowtime_type)]
    return table_ddl((table.database, table.schema, table.name + FLOOR_SUFFIX), columns, ("k",), options)


def judged_view(table: Table, event: EventTime, proc_time: str) -> str:
    """Every change of `table` with `wh_late`: read from the log (not the snapshot) and at or behind the
    watermark, or, before the first watermark after a restart, behind the newest event time minus the delay.
    Both the window and the late-rows sink read this one view, so both see one decision per change."""
    rowtime, delay = f"b.{flink(event.rowtime)}", f"INTERVAL {interval(event.watermark.delay)}"
    current, floor = f"CURRENT_WATERMARK({rowtime})", f"(f.`newest` - {delay})"
    bound = f"COALESCE(GREATEST(COALESCE({current}, {floor}), COALESCE({floor}, {current})), {EPOCH})"
    late = f"b.{flink(OP_TS)} <> TO_TIMESTAMP_LTZ(0, 3) AND {rowtime} <= {bound}"
    columns = ", ".join(f"b.{flink(c)}" for c in read_columns(table, event))
    floor_table = flink(table.database, table.schema, table.name + FLOOR_SUFFIX)
    return (
        f"CREATE TEMPORARY VIEW {flink(*judged_name(table))} AS\n"
        f"SELECT {columns}, b.{flink(proc_time)}, b.{flink(OP_TS)}, {current} AS `wh_watermark`, {late} AS `wh_late`\n"
        f"FROM {flink(*binlog_name(table))} AS b\n"
        f"LEFT JOIN {floor_table} FOR SYSTEM_TIME AS OF b.{flink(proc_time)} AS f ON f.`k` = b.{flink(FLOOR_KEY)}"
    )


def on_time_view(table: Table, columns: list[str]) -> str:
    """The table as the model reads it: the changes that are not late.

    The last condition is always true; it names every column so that Flink keeps the judged view's columns
    whole and shares it with the late-rows sink (a pruned copy would judge each change a second time)."""
    selected = ", ".join(flink(c) for c in columns)
    every = ", ".join(f"CAST({flink(c)} AS STRING)" for c in table.column_names())
    return (
        f"CREATE TEMPORARY VIEW {flink(table.database, table.schema, table.name)} AS\n"
        f"SELECT {selected} FROM {flink(*judged_name(table))}\n"
        f"WHERE NOT `wh_late` AND CHAR_LENGTH(CONCAT_WS('', {every})) >= 0"
    )


def late_insert(model: str, table: Table, event: EventTime, sink: str) -> str:
    """Every late change of `table` (any kind) as a row of the late-rows table."""
    rowtime = flink(event.rowtime)
    values = [flink_string(model), flink_string(table.name), json_object(table.primary_key)]
    values += [json_object(table.column_names()), rowtime, flink(OP_TS), "`wh_watermark`"]
    return f"INSERT INTO {sink}\nSELECT {', '.join(values)} FROM {flink(*judged_name(table))}\nWHERE `wh_late`"


def late_sink_ddl(store: StoreConnection, database: str) -> str:
    """The `warehouse-changes` sink (the warehouse's own Flink connector) into `_warehouse.late_rows`."""
    options = {
        "connector": "warehouse-changes",
        "url": jdbc_url(store, database),
        "table-name": f"{REGISTRY_SCHEMA}.{LATE_ROWS}",
        "username": store.user,
        "password": reference(store.user),
    }
    return table_ddl((database, REGISTRY_SCHEMA, LATE_ROWS), LATE_COLUMNS, (), options)


def json_object(columns: tuple[str, ...] | list[str]) -> str:
    """A row's values as a JSON object of strings (deterministic, so a retraction reproduces its row)."""
    pairs = ", ".join(f"{flink_string(c)} VALUE CAST({flink(c)} AS STRING)" for c in columns)
    return f"JSON_OBJECT({pairs})"
