"""From a model's compiled SQL to one Flink job: tables, streams, sinks, slots.

Every table a job touches is declared in a session-local in-memory catalog named after the store
database, so dbt's rendered relation `"warehouse"."ods"."ods_orders"` (backticked) is a valid Flink
name: catalog `warehouse`, database `ods`, table `ods_orders`.

- stream side (`ref()` / `source()`): a postgres-cdc (mysql-cdc) table over the upstream table's binlog, with
  its own replication slot and publication, and a `proc_time` column when the model uses it. The mirrors of a
  synced source (sync/) instead share one change-log reader per schema (database), the warehouse's
  `warehouse-postgres-database` (one slot and publication) or `warehouse-mysql-database` (one binlog
  connection), each table a view over it named like the table (see `Reader`);
- lookup side (`lookup()`): a JDBC table with the requested cache; `cache='all'` becomes a regular join
  with the dimension's binlog, so every dimension row is held in Flink state;
- sinks: one JDBC upsert table per stream declaring only that stream's columns, so a stream never
  overwrites another stream's columns.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from warehouse.catalog import LATE_ROWS, REGISTRY_SCHEMA, stream_application_name
from warehouse.config import JobTuning, MySqlConnection, StoreConnection, milliseconds
from warehouse.connectors import (
    DEFAULT_TUNING,
    FlinkColumn,
    LookupCache,
    cdc_options,
    jdbc_lookup_options,
    jdbc_sink_options,
    mysql_cdc_options,
    mysql_database_options,
    postgres_database_options,
    table_ddl,
)
from warehouse.errors import WarehouseError
from warehouse.eventtime import (
    FLOOR_SUFFIX,
    EventTime,
    binlog_name,
    event_time_of,
    floor_lookup_ddl,
    json_object,
    judged_view,
    late_insert,
    late_sink_ddl,
    on_time_view,
    read_columns,
    reads_event_time,
    split_reader_columns,
    watermark_columns,
)
from warehouse.flinksql import (
    FlinkSqlSyntaxError,
    backtick_identifiers,
    output_columns,
    rename_descriptors,
    table_references,
)
from warehouse.identifiers import flink, flink_string
from warehouse.jobgroups import Member, fused_reads, group_models
from warehouse.lifecycle.engine import JobSpec
from warehouse.project import MYSQL, DbtProject, Model, ModelError, Table
from warehouse.types import flink_type
from warehouse.valuefit import fit_check, fits_all, rejected, rejection_reason

STREAM_MARKER = re.compile(r"/\* warehouse:stream (\w+) \*/")
# A job's common sub-queries (a stream read by its sink, its rejected rows and a reader in the job) planned
# once, as one optimizer block, instead of once per INSERT; Flink 1.20 cannot plan a processing-time lookup join
# across blocks, so jobs with lookups go without.
PLAN_SHARED_QUERIES_ONCE = "table.optimizer.reuse-optimize-block-with-digest-enabled"
GRAPH_SETTINGS = (PLAN_SHARED_QUERIES_ONCE, "table.exec.sink.upsert-materialize")  # they change the operators
LOOKUP_SUFFIX = "__lookup"
PROC_TIME = "proc_time"
MAX_SLOT_NAME = 63
REJECTED_COLUMNS = (
    ("model", "STRING"),
    ("stream", "STRING"),
    ("row_key", "STRING"),
    ("payload", "STRING"),
    ("reason", "STRING"),
)


@dataclass(frozen=True)
class Stream:
    name: str
    sql: str
    columns: list[str]
    line: int


@dataclass(frozen=True)
class Slot:
    """A replication slot (and its publication, same name) reading the binlog of tables of one schema: one
    table (a reader with event time), or every table a job reads of that schema (a database reader)."""

    name: str
    database: str
    schema: str
    tables: tuple[str, ...]


def recorded_slot_tables(slot: Mapping[str, object]) -> list[str]:
    """The tables a recorded slot reads (records written before database readers name one `table`)."""
    tables = slot.get("tables") or [slot["table"]]
    assert isinstance(tables, list)
    return [str(t) for t in tables]


@dataclass(frozen=True)
class Reader:
    """A change-log reader of a job: `where` it reads (`connector:database.schema`) and which tables. A shared
    reader routes several tables to views named like them; Flink's planner then sees none of their primary keys
    (it derives upsert keys from a source table's key), so only the mirrors of a synced source share one: plain
    SELECTs into sinks without an upsert materializer, which lose nothing by it. Every other read has its own."""

    where: str
    tables: tuple[str, ...]
    shared: bool

    def __str__(self) -> str:
        return (
            f"{self.where}: {', '.join(self.tables)} (one reader)" if self.shared else f"{self.where}.{self.tables[0]}"
        )


@dataclass(frozen=True)
class EventTimeRead:
    """A binlog read whose watermark is held while its snapshot is read (see eventtime.py)."""

    table: Table
    column: str


@dataclass(frozen=True)
class CompiledModel:
    """One model's part of a job: its streams (the SELECTs that write its table)."""

    model: Model
    streams: list[Stream]

    @property
    def query_fingerprint(self) -> str:
        return _digest([s.sql for s in self.streams])


@dataclass(frozen=True)
class CompiledJob:
    """One Flink job: the models of one job group (jobgroups.py), or one model compiled alone."""

    name: str
    members: list[CompiledModel]
    ddl: list[str]
    inserts: list[str]
    slots: list[Slot]
    settings: dict[str, str] = field(default_factory=dict)
    event_time: list[EventTimeRead] = field(default_factory=list)
    column_types: dict[str, str] = field(default_factory=dict)  # `table.column` -> Flink type, for state checks
    fused: list[str] = field(default_factory=list)  # "upstream -> reader" reads of a query instead of a binlog
    lookups: list[str] = field(default_factory=list)  # the tables its models look up (point lookups in the store)
    mysql_reads: list[str] = field(default_factory=list)  # MySQL tables read by mysql-cdc (no snapshot metrics)
    slot_set: str = ""  # which of the two sets of slot names it uses ("" or "b"; a blue/green deploy flips it)
    fused_tables: list[str] = field(default_factory=list)  # table keys of members read by their query
    readers: list[Reader] = field(default_factory=list)  # its change-log readers and what each reads

    def only(self) -> CompiledModel:
        """The model of a job compiled for one model (unit tests, lineage, `check`'s per-model findings)."""
        if len(self.members) != 1:
            raise WarehouseError(f"job {self.name} runs {len(self.members)} models, not one")
        return self.members[0]

    @property
    def model(self) -> Model:
        return self.only().model

    @property
    def streams(self) -> list[Stream]:
        return self.only().streams

    def model_streams(self) -> list[Stream]:
        """Every stream of every model of the job."""
        return [stream for member in self.members for stream in member.streams]

    @property
    def models(self) -> list[Model]:
        return [member.model for member in self.members]

    @property
    def fingerprint(self) -> str:
        return _digest([*self.ddl, *self.inserts, *sorted(self.settings.items())])

    @property
    def query_fingerprint(self) -> str:
        """Changes only when the queries change (stream views and inserts, the change-log readers and what each
        reads, and the settings that change Flink's operators): what decides whether a job keeps its state."""
        shaping = [f"{key}={value}" for key, value in sorted(self.settings.items()) if key in GRAPH_SETTINGS]
        shared = [str(reader) for reader in self.readers if reader.shared]  # own readers follow from the SQL
        return _digest([s.sql for s in self.model_streams()] + list(self.inserts) + shared + shaping)

    def spec(self) -> JobSpec:
        return JobSpec(self.name, self.ddl, self.inserts, [s.name for s in self.slots], self.settings)

    def script(self) -> str:
        return job_script(self.ddl, self.inserts)


def job_script(ddl: Sequence[str], inserts: Sequence[str]) -> str:
    """A whole job as one Flink SQL script (for `target/`, reviews and plan diffs)."""
    body = "\n".join(f"  {insert};" for insert in inserts)
    return ";\n\n".join(ddl) + f";\n\nEXECUTE STATEMENT SET BEGIN\n{body}\nEND;\n"


class Compiler:
    def __init__(
        self,
        project: DbtProject,
        store: StoreConnection,
        tuning: JobTuning = DEFAULT_TUNING,
        runtime: dict[str, str] | None = None,
        mysql: MySqlConnection | None = None,
    ) -> None:
        """`runtime`: the settings every job gets (config.job_runtime_settings); a model may override some.
        `mysql`: the server of the project's MySQL sources."""
        self.project = project
        self.mysql = mysql or MySqlConnection()
        self.store = store
        self.tuning = tuning
        self.runtime = dict(runtime or {})

    def compile(self, model: Model, compiled_sql: str) -> CompiledJob:
        """The model's job alone (what `compile` writes, what unit tests and lineage read)."""
        return self.compile_job(model.name, [self.member(model, compiled_sql)])

    def member(self, model: Model, compiled_sql: str) -> CompiledModel:
        streams = self._streams(model, backtick_identifiers(compiled_sql))
        _lint_streams(model, streams)
        return CompiledModel(model, streams)

    def compile_job(
        self,
        name: str,
        members: list[CompiledModel],
        fused: Sequence[str] = (),
        slot_set: str = "",
        placement: dict[str, str] | None = None,
    ) -> CompiledJob:
        """One job for `members` (upstream first); a member reads the tables in `fused` (table keys of other
        members) by their query instead of their binlog. `slot_set` names its replication slots (slot_name);
        `placement` (table key -> store schema) writes a member's table elsewhere than its model's schema: a
        blue/green deploy builds the new version beside the live table (lifecycle/bluegreen.py)."""
        mirrors = all(member.model.mirror for member in members)  # they share readers (Reader)
        builder = _JobBuilder(self, name, set(fused), slot_set, placement or {}, mirrors)
        inserts = [insert for m in members for stream in m.streams for insert in builder.inserts(m.model, stream)]
        inserts += builder.late_inserts
        settings = job_settings(name, [m.model for m in members], self.runtime, self.tuning)
        if not builder.lookups and not builder.event_time:
            settings[PLAN_SHARED_QUERIES_ONCE] = "true"
        return CompiledJob(
            name,
            members,
            builder.ddl(),
            inserts,
            builder.slots,
            settings,
            builder.event_time,
            builder.column_types,
            builder.fused,
            builder.lookups,
            builder.mysql_reads,
            slot_set,
            sorted(fused),
            list(builder.readers.values()),
        )

    def recompile(self, job: CompiledJob, slot_set: str, placement: dict[str, str] | None = None) -> CompiledJob:
        """The same job with another slot set and/or its tables placed elsewhere (a blue/green deploy)."""
        return self.compile_job(job.name, job.members, job.fused_tables, slot_set, placement)

    def group(self, alone: list[CompiledJob], slot_sets: dict[str, str] | None = None) -> list[CompiledJob]:
        """The jobs that run these models (each compiled alone, in dependency order), grouped by jobgroups.py;
        `slot_sets`: job name -> the slot set its running job uses (from the registry)."""
        members = [grouping_member(job) for job in alone]
        compiled = {job.model.name: job.members[0] for job in alone}
        jobs = []
        for name, names in group_models(members).items():
            group = [m for m in members if m.name in names]
            fused = {read for member in group for read in fused_reads(member, group)}
            slot_set = (slot_sets or {}).get(name, "")
            jobs.append(self.compile_job(name, [compiled[n] for n in names], sorted(fused), slot_set))
        return upstream_first(jobs)

    def _streams(self, model: Model, sql: str) -> list[Stream]:
        if model.materialized != "partial_update":
            return [self._stream(model, "main", sql.rstrip().rstrip(";"), 1)]
        parts = STREAM_MARKER.split(sql)
        if parts[0].strip():
            raise ModelError(
                "SQL before the first stream() of a partial_update model",
                where=model.path,
                hint="start every SELECT with {{ stream('name') }}",
            )
        if len(parts) < 3:
            raise ModelError("a partial_update model needs at least one {{ stream('name') }}", where=model.path)
        streams, names = [], set()
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in names:
                raise ModelError(f"stream '{name}' is defined twice", where=model.path)
            names.add(name)
            body = body[1:] if body.startswith("\n") else body
            streams.append(self._stream(model, name, body.rstrip().rstrip(";"), _line_of(model, name) + 1))
        return streams

    def _stream(self, model: Model, name: str, sql: str, line: int) -> Stream:
        try:
            columns = output_columns(sql, self._schemas(sql))
        except FlinkSqlSyntaxError as exc:
            where = f"{model.path}:{line + exc.line - 1}"
            raise ModelError(f"syntax error at column {exc.column}: {exc.description}", where=where) from None
        except WarehouseError as exc:
            raise ModelError(f"stream '{name}': {exc.message}", where=f"{model.path}:{line}") from None
        sql = rename_descriptors(sql, self._rowtime_copies(model, name, sql, line))
        return Stream(name, _resolve_lookup_all(sql, model), columns, line)

    def _rowtime_copies(self, model: Model, stream: str, sql: str, line: int) -> dict[str, str]:
        """Event-time column -> its millisecond copy, for the tables the stream reads whose watermark needs one."""
        copies: dict[str, set[str]] = {}
        for ref in table_references(sql):
            table = None if ref.temporal else self.find_table(ref.catalog, ref.database, ref.name)
            event = event_time_of(self.project, table) if table else None
            if event is not None:
                copies.setdefault(event.column, set()).add(event.rowtime)
        clashing = sorted(column for column, rowtimes in copies.items() if len(rowtimes) > 1)
        if clashing:
            raise ModelError(
                f"stream '{stream}' windows over tables whose event-time column '{clashing[0]}' has different "
                "precisions (up to 3 digits is Flink's own, more is read through a millisecond copy)",
                where=f"{model.path}:{line}",
                hint="declare the watermark columns of the tables it reads with the same timestamp precision",
            )
        return {column: rowtime for column, (rowtime,) in copies.items() if rowtime != column}

    def _schemas(self, sql: str) -> dict[str, list[str]]:
        schemas = {}
        for ref in table_references(sql):
            table = self.find_table(ref.catalog, ref.database, ref.name)
            if table is not None:
                columns = [*table.column_names(), PROC_TIME]
                schemas[ref.name] = columns
                schemas[f"{ref.catalog}.{ref.database}.{ref.name}"] = columns
        return schemas

    def find_table(self, catalog: str | None, database: str | None, name: str) -> Table | None:
        base = name.removesuffix(LOOKUP_SUFFIX + "_all").removesuffix(LOOKUP_SUFFIX)
        candidates = [*(m.table for m in self.project.models.values()), *self.project.sources.values()]
        for table in candidates:
            if table.name == base and table.schema == database and table.database == catalog:
                return table
        return None


class _JobBuilder:
    """Collects the DDL of one job while its INSERTs are built, model by model (upstream first)."""

    def __init__(
        self,
        compiler: Compiler,
        name: str,
        fused: set[str],
        slot_set: str,
        placement: dict[str, str],
        shares_readers: bool = False,
    ) -> None:
        self.compiler = compiler
        self.name = name
        self.fusable = fused  # table keys of members read by their query
        self.slot_set = slot_set
        self.placement = placement
        self.model: Model
        self.catalogs: dict[str, set[str]] = {}
        self.tables: dict[str, str] = {}
        self.slots: list[Slot] = []
        self.reader_views: list[str] = []
        self.views: list[str] = []
        self.late_inserts: list[str] = []
        self.event_time: list[EventTimeRead] = []
        self.column_types: dict[str, str] = {}  # `table.column` -> Flink type, of every table the job declares
        self.written: dict[str, str] = {}  # table key -> a view of the rows a member writes to it
        self.fused: list[str] = []  # "upstream -> reader", for `compile` and the registry
        self.fused_views: set[str] = set()  # table keys declared as a view of a member's rows
        self.lookups: list[str] = []
        self.mysql_reads: list[str] = []
        self.database_reads: dict[str, list[Table]] = {}  # "connector:database.schema" -> the tables its reader routes
        self.readers: dict[str, Reader] = {}  # where a change-log reader reads (and which table) -> the reader
        self.shares_readers = shares_readers

    def inserts(self, model: Model, stream: Stream) -> list[str]:
        """Rows with a complete primary key whose every value fits its column go to the sink; the others to
        the rejected-rows table, with the reason."""
        self.model = model
        for ref in table_references(stream.sql):
            self._declare_read(ref.catalog, ref.database, ref.name, ref.temporal, stream)
        sink = self._declare_sink(stream)
        view = stream_view(model, stream)
        self.views.append(f"CREATE TEMPORARY VIEW {view} AS\n{stream.sql}")
        columns = ", ".join(flink(c) for c in stream.columns)
        key_present = " AND ".join(f"{flink(k)} IS NOT NULL" for k in model.table.primary_key)
        declared = {c.name: c.data_type for c in model.table.columns}
        checks = [check for name in stream.columns if (check := fit_check(name, declared[name]))]
        writable = f"{key_present} AND {fits_all(checks)}" if checks else key_present
        accepted = f"SELECT {columns} FROM {view} WHERE {writable}"
        self._remember_written(model, stream, accepted)
        reason = rejection_reason(key_present, "primary key column is NULL", checks)
        return [f"INSERT INTO {sink} ({columns})\n{accepted}", self._reject(stream, view, writable, reason)]

    def _remember_written(self, model: Model, stream: Stream, accepted: str) -> None:
        """What a continuous model writes, as its readers in the job see it: the declared columns and types of
        its table (what its binlog reader would declare), plus `proc_time`."""
        table = model.table
        key = _table_key(table)
        if key not in self.fusable:
            return
        given = set(stream.columns)
        columns = [
            f"CAST({flink(c.name) if c.name in given else 'NULL'} AS {flink_type(c.data_type)}) AS {flink(c.name)}"
            for c in table.columns
        ]
        columns.append(f"PROCTIME() AS {flink(PROC_TIME)}")
        self.written[key] = f"SELECT {', '.join(columns)}\nFROM ({accepted}) AS written"

    def _reject(self, stream: Stream, view: str, writable: str, reason: str) -> str:
        table = self._rejects_table()
        values = [flink_string(self.model.name), flink_string(stream.name)]
        values += [json_object(self.model.table.primary_key), json_object(stream.columns)]
        # Deterministic values only: a retraction must reproduce the row it retracts (rejected_at is the store's).
        values += [reason]
        condition = rejected(writable, self.model.table.primary_key[0])
        return f"INSERT INTO {table}\nSELECT {', '.join(values)} FROM {view} WHERE {condition}"

    def _rejects_table(self) -> str:
        store, database = self.compiler.store, self.model.table.database
        name = (database, REGISTRY_SCHEMA, "rejected_rows")
        self._register(database, REGISTRY_SCHEMA)
        columns = [FlinkColumn(c, t) for c, t in REJECTED_COLUMNS]
        options = jdbc_sink_options(store, database, f"{REGISTRY_SCHEMA}.rejected_rows", self.compiler.tuning)
        self.tables["rejects"] = table_ddl(name, columns, ("model", "stream", "row_key"), options)
        return flink(*name)

    def ddl(self) -> list[str]:
        statements = [f"CREATE CATALOG {flink(c)} WITH ('type' = 'generic_in_memory')" for c in self.catalogs]
        statements += [
            f"CREATE DATABASE IF NOT EXISTS {flink(c, d)}" for c, dbs in self.catalogs.items() for d in sorted(dbs)
        ]
        return statements + list(self.tables.values()) + self.reader_views + self.views

    def _declare_read(
        self, catalog: str | None, database: str | None, name: str, temporal: bool, stream: Stream
    ) -> None:
        table = self.compiler.find_table(catalog, database, name)
        if table is None or catalog is None or database is None:
            raise ModelError(
                f"stream '{stream.name}' reads {'.'.join(p for p in (catalog, database, name) if p)}, "
                "which is not a ref(), source() or lookup() of this project",
                where=f"{self.model.path}:{stream.line}",
                hint="read tables through {{ ref('model') }}, {{ source('src', 'table') }} or {{ lookup('model') }}",
            )
        if name.endswith(LOOKUP_SUFFIX) and temporal:
            self._declare_lookup(table, name)
        elif _table_key(table) in self.written:
            self._declare_fused_read(table)
        else:
            self._declare_binlog_reader(table, stream)

    def _declare_fused_read(self, table: Table) -> None:
        """The upstream member's rows as a view named like its table, so the reader's SQL is unchanged."""
        key, reading = _table_key(table), f"{table.name} -> {self.model.name}"
        if key not in self.fused_views:
            self._register(table.database, table.schema)
            name = flink(table.database, table.schema, table.name)
            self.views.append(f"CREATE TEMPORARY VIEW {name} AS\n{self.written[key]}")
            self.fused_views.add(key)
        if reading not in self.fused:
            self.fused.append(reading)

    def _declare_binlog_reader(self, table: Table, stream: Stream) -> None:
        key = _table_key(table)
        if key in self.tables:
            return
        uses_proc_time = PROC_TIME in stream.sql
        event = event_time_of(self.compiler.project, table)
        split = event is not None and event.watermark.late_rows == "keep" and reads_event_time(stream.sql)
        extra = [f"{flink(PROC_TIME)} AS PROCTIME()"]  # for every reader in the job that uses it
        if event is None and self.shares_readers:
            self._declare_database_read(table)
            return
        if event is None:
            self._add_table(table, table.name, self._binlog_options(table), extra, key)
            return
        self.event_time.append(EventTimeRead(table, event.column))
        extra += watermark_columns(event) + (split_reader_columns() if split else [])
        options = self._binlog_options(table)
        self._add_table(table, binlog_name(table)[2] if split else table.name, options, extra, key)
        if split:
            self._split_late_rows(table, event, uses_proc_time)

    def _binlog_options(self, table: Table) -> dict[str, str]:
        """The CDC reader of `table` alone: mysql-cdc for a MySQL source, else postgres-cdc over a slot of its own."""
        where = f"{table.connector}:{table.database}.{table.schema}"
        self.readers[_table_key(table)] = Reader(where, (table.name,), shared=False)
        if table.connector == MYSQL:
            self.mysql_reads.append(table.name)
            reader = self._reader_name(_table_key(table))
            return mysql_cdc_options(self.compiler.mysql, table.database, table.name, reader)
        table = self._placed(table)
        slot = Slot(slot_name(self.name, table.name, self.slot_set), table.database, table.schema, (table.name,))
        self.slots.append(slot)
        store, tuning = self.compiler.store, self.compiler.tuning
        return cdc_options(store, table.database, table.schema, table.name, slot.name, slot.name, tuning)

    def _reader_name(self, reads: str) -> str:
        """What a MySQL reader's server ids are derived from: the job, its slot set, what it reads."""
        return f"{self.name}{'@' + self.slot_set if self.slot_set else ''}.{reads}"

    def _declare_database_read(self, table: Table) -> None:
        """The table as a view over the job's one reader of its database (MySQL) or schema (PostgreSQL); the
        reader's DDL is declared again with every table added, so it routes all of them. (Read tables are never
        placed elsewhere: a blue/green deploy refuses a job that reads its own tables, bluegreen.py.)"""
        where = f"{table.connector}:{table.database}.{table.schema}"
        tables = self.database_reads.setdefault(where, [])
        if table in tables:
            return
        tables.append(table)
        self._note_types(table.name, [FlinkColumn(c.name, flink_type(c.data_type)) for c in table.columns])
        columns = [FlinkColumn(ROUTED_TABLE, "STRING")] + [FlinkColumn(t.name, routed_row_type(t)) for t in tables]
        self._register(table.database, table.schema)
        name = (table.database, table.schema, DATABASE_READER)
        self.tables[where] = table_ddl(name, columns, (), self._database_reader_options(where, tables))
        self.reader_views.append(routed_view(table, name))
        self.readers[where] = Reader(where, tuple(t.name for t in tables), shared=True)

    def _database_reader_options(self, where: str, tables: list[Table]) -> dict[str, str]:
        first = tables[0]
        if first.connector == MYSQL:
            chunk_keys = {t.name: t.primary_key[0] for t in tables}
            return mysql_database_options(self.compiler.mysql, first.database, chunk_keys, self._reader_name(where))
        name = slot_name(self.name, f"{first.schema}__tables", self.slot_set)
        slot = Slot(name, first.database, first.schema, tuple(t.name for t in tables))
        self.slots = [s for s in self.slots if s.name != name] + [slot]
        store, tuning = self.compiler.store, self.compiler.tuning
        return postgres_database_options(store, first.database, first.schema, name, tuning)

    def _placed(self, table: Table) -> Table:
        """Where the table lives in the store for this job: its own schema, or the one `placement` gives."""
        schema = self.placement.get(_table_key(table))
        return replace(table, schema=schema) if schema else table

    def _split_late_rows(self, table: Table, event: EventTime, uses_proc_time: bool) -> None:
        """The model reads the rows that are not late; the late ones go to the late-rows table (eventtime.py)."""
        columns = read_columns(table, event) + ([PROC_TIME] if uses_proc_time else [])
        floor = floor_lookup_ddl(self.compiler.store, table, event)
        self.tables[f"{table.database}.{table.schema}.{table.name}{FLOOR_SUFFIX}"] = floor
        self.reader_views += [judged_view(table, event, PROC_TIME), on_time_view(table, columns)]
        self._register(table.database, REGISTRY_SCHEMA)
        self.tables[LATE_ROWS] = late_sink_ddl(self.compiler.store, table.database)
        sink = flink(table.database, REGISTRY_SCHEMA, LATE_ROWS)
        self.late_inserts.append(late_insert(self.model.name, table, event, sink))

    def _declare_lookup(self, table: Table, name: str) -> None:
        if table.name not in self.lookups:
            self.lookups.append(table.name)
        cache = self.model.lookups.get(table.name, LookupCache())
        options = jdbc_lookup_options(self.compiler.store, table.database, self._placed(table).qualified, cache)
        self._add_table(table, name, options, [])

    def _declare_sink(self, stream: Stream) -> str:
        table = self.model.table
        suffix = f"__{stream.name}" if self.model.materialized == "partial_update" else "__sink"
        types = {c.name: c for c in table.columns}
        columns = [FlinkColumn(name, flink_type(types[name].data_type)) for name in stream.columns]
        partial = self.model.materialized == "partial_update"
        writer = stream_application_name(table.name, stream.name) if partial else None
        placed = self._placed(table).qualified
        options = jdbc_sink_options(self.compiler.store, table.database, placed, self.compiler.tuning, writer)
        name = table.name + suffix
        self._register(table.database, table.schema)
        self.tables[f"sink:{name}"] = table_ddl(
            (table.database, table.schema, name), columns, table.primary_key, options
        )
        self._note_types(name, columns)
        return flink(table.database, table.schema, name)

    def _add_table(
        self, table: Table, name: str, options: dict[str, str], extra: list[str], key: str | None = None
    ) -> None:
        columns = [FlinkColumn(c.name, flink_type(c.data_type)) for c in table.columns]
        self._register(table.database, table.schema)
        key = key or f"{table.database}.{table.schema}.{name}"
        self.tables[key] = table_ddl((table.database, table.schema, name), columns, table.primary_key, options, extra)
        self._note_types(name, columns)

    def _note_types(self, table: str, columns: list[FlinkColumn]) -> None:
        self.column_types.update({f"{table}.{c.name}": c.type for c in columns})

    def _register(self, catalog: str, database: str) -> None:
        self.catalogs.setdefault(catalog, set()).add(database)


ROUTED_TABLE = "wh_table"  # the column of a database reader that names each change's table
DATABASE_READER = "wh_database_changes"  # a database reader's table, beside the tables it routes


def routed_row_type(table: Table) -> str:
    """A table's columns as one ROW column of its database reader (nullable: NULL in the other tables' rows)."""
    return f"ROW<{', '.join(f'{flink(c.name)} {flink_type(c.data_type)}' for c in table.columns)}>"


def routed_view(table: Table, reader: tuple[str, str, str]) -> str:
    """The changes of one table of a database reader, named and shaped like the table's own reader."""
    columns = [f"r.{flink(table.name)}.{flink(c.name)} AS {flink(c.name)}" for c in table.columns]
    columns.append(f"PROCTIME() AS {flink(PROC_TIME)}")
    routed = f"r.{flink(ROUTED_TABLE)} = {flink_string(table.name)}"
    name = flink(table.database, table.schema, table.name)
    return f"CREATE TEMPORARY VIEW {name} AS\nSELECT {', '.join(columns)}\nFROM {flink(*reader)} AS r WHERE {routed}"


def job_settings(name: str, models: list[Model], runtime: dict[str, str], tuning: JobTuning) -> dict[str, str]:
    """Flink settings of a job (SET in its gateway session before the statement set): the runtime's, then its
    models' own; `parallelism` is the largest asked for, `upsert_materialize` must agree (one job, one value)."""
    settings = {**runtime, "execution.buffer-timeout.interval": f"{milliseconds(tuning.buffer_timeout)} ms"}
    parallelism = max((m.settings.parallelism or 0 for m in models), default=0)
    if parallelism:
        settings["parallelism.default"] = str(parallelism)
    materialize = {m.settings.upsert_materialize for m in models} - {"auto"}
    if len(materialize) > 1:
        raise ModelError(
            f"[WH009] the models of job {name} set upsert_materialize differently ({', '.join(sorted(materialize))}): "
            "it is a setting of the whole job",
            where=", ".join(m.path for m in models if m.settings.upsert_materialize != "auto"),
            hint="give them one value, or run them as separate jobs with job_group='...'",
        )
    if materialize:
        settings["table.exec.sink.upsert-materialize"] = materialize.pop().upper()
    return settings


def upstream_first(jobs: list[CompiledJob]) -> list[CompiledJob]:
    """The jobs ordered so that a job comes after the jobs of the models it reads or looks up (when their
    dependencies allow it; a cycle through lookups keeps the given order), so `run` starts and waits for them
    first."""
    owner = {model.unique_id: job.name for job in jobs for model in job.models}
    needs = {
        job.name: {owner[uid] for model in job.models for uid in model.depends_on if uid in owner} - {job.name}
        for job in jobs
    }
    ordered: list[CompiledJob] = []
    while len(ordered) < len(jobs):
        placed = {job.name for job in ordered}
        ready = [job for job in jobs if job.name not in placed and needs[job.name] <= placed]
        ordered.append(ready[0] if ready else next(job for job in jobs if job.name not in placed))
    return ordered


def grouping_member(job: CompiledJob) -> Member:
    """What the grouping rule needs of a model, from its job compiled alone: the change logs it reads."""
    model = job.model
    reads = tuple(dict.fromkeys(f"{s.database}.{s.schema}.{table}" for s in job.slots for table in s.tables))
    fusable = model.materialized == "continuous" and model.settings.watermark is None
    return Member(model.name, reads, _table_key(model.table), fusable, model.settings.job_group)


def _lint_streams(model: Model, streams: list[Stream]) -> None:
    table = model.table
    declared = set(table.column_names())
    owner: dict[str, str] = {}
    for stream in streams:
        where = f"{model.path}:{stream.line}"
        missing_key = [k for k in table.primary_key if k not in stream.columns]
        if missing_key:
            raise ModelError(
                f"[WH001] stream '{stream.name}' does not write primary key column(s) {missing_key}",
                where=where,
                hint="every stream must select the full primary key",
            )
        unknown = [c for c in stream.columns if c not in declared]
        if unknown:
            raise ModelError(
                f"[WH003] stream '{stream.name}' writes column(s) {unknown} not declared in the schema yml",
                where=where,
                hint=f"declare them under models: - name: {model.name} columns:",
            )
        for column in stream.columns:
            if column in table.primary_key:
                continue
            if column in owner:
                raise ModelError(
                    f"[WH002] column '{column}' is written by streams '{owner[column]}' and '{stream.name}'",
                    where=where,
                    hint="each column of a partial_update table belongs to exactly one stream",
                )
            owner[column] = stream.name


def _resolve_lookup_all(sql: str, model: Model) -> str:
    """`cache='all'`: join the dimension's binlog instead (every row in state); drop FOR SYSTEM_TIME AS OF."""
    pattern = re.compile(r"(`[^`]+`\.`[^`]+`\.`[^`]+)__lookup_all`\s+FOR\s+SYSTEM_TIME\s+AS\s+OF\s+[\w`.]+", re.I)
    return pattern.sub(lambda m: m.group(1) + "`", sql)


def _table_key(table: Table) -> str:
    return f"{table.database}.{table.schema}.{table.name}"


def stream_view(model: Model, stream: Stream) -> str:
    """The view of one stream of a model in its job (unique among the job's models)."""
    return flink(f"wh_{model.name}__{stream.name}")


def slot_name(job: str, reads: str, slot_set: str = "") -> str:
    """The replication slot (and publication) of one binlog reader of a job: `wh_<job>__<reads>` (a table, or
    `<schema>__tables` for a database reader), or `wh__<job>__<reads>` for the other slot set (a job's new
    version is built beside its running one)."""
    prefix = f"wh__{job}" if slot_set else f"wh_{job}"
    name = re.sub(r"[^a-z0-9_]", "_", f"{prefix}__{reads}".lower())
    if len(name) <= MAX_SLOT_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_SLOT_NAME - 9]}_{digest}"


def _line_of(model: Model, stream: str) -> int:
    """The line of `{{ stream('name') }}` in the model file (1-based)."""
    for number, line in enumerate(model.raw_code.splitlines(), start=1):
        if re.search(r"stream\(\s*['\"]" + re.escape(stream) + r"['\"]\s*\)", line):
            return number
    return 1


def _digest(parts: Sequence[object]) -> str:
    return hashlib.sha256("\n".join(map(str, parts)).encode()).hexdigest()[:16]
