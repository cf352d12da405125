"""`warehouse sql`: ad-hoc Flink SQL over the catalog, through the SQL Gateway, never writing a table.

Model names in the query resolve to the catalog tables, as in models: `FOR SYSTEM_TIME AS OF` sides
are JDBC lookups; other tables are a bounded JDBC scan (`--batch`) or the table's binlog read by
postgres-cdc (`--stream`: snapshot then changes, with row kinds). Only queries are accepted: INSERT,
DDL and every other statement are refused before anything reaches Flink. A stream query's
replication slot is dropped when the query ends; one left by a killed process is reaped by the next
`warehouse sql` (its Flink job cancelled first).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psutil
from sqlglot import exp

from warehouse.catalog import PUBLICATION, binlog_enabled
from warehouse.config import StoreConnection
from warehouse.connectors import (
    FlinkColumn,
    LookupCache,
    cdc_options,
    jdbc_lookup_options,
    jdbc_scan_options,
    table_ddl,
)
from warehouse.errors import WarehouseError
from warehouse.flinksql import parse, table_references
from warehouse.gateway import Column, Row
from warehouse.identifiers import flink, flink_string
from warehouse.lifecycle.engine import Engine
from warehouse.project import Table
from warehouse.store import connect, drop_slots, session_slot_name, slot_owner_pid
from warehouse.types import flink_type

SLOT_PREFIX = "wh_sql_"
HINT = re.compile(r"/\*\s*\+")
NO_HINTS = {"table.dynamic-table-options.enabled": "false"}
QUERY_TYPES = (exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery)
_sequence = itertools.count()


class ReadOnlyError(WarehouseError):
    """`warehouse sql` was given something other than a query."""


@dataclass(frozen=True)
class AdhocResult:
    columns: list[Column]
    rows: list[Row]
    complete: bool


def run_query(
    engine: Engine, tables: dict[str, Table], statement: str, stream: bool, limit: int, timeout: float
) -> AdhocResult:
    """The query's tables read as the store's read-only login; table option hints are refused (a hint could
    turn a JDBC table's name into any SQL) and switched off in Flink as well."""
    query = _only_a_query(statement, tables)
    reap_orphan_queries(engine)
    slot = session_slot_name(SLOT_PREFIX, next(_sequence))
    ddl, slots = _declarations(engine.store.as_reader(), tables, query, stream, slot)
    with _slots_dropped(engine, slots), engine.gateway.open_session() as session:
        mode = "streaming" if stream else "batch"
        settings = {
            "execution.runtime-mode": mode,
            "pipeline.name": slot,
            "table.dynamic-table-options.enabled": "false",
        }
        for key, value in settings.items():
            session.execute(f"SET {flink_string(key)} = {flink_string(value)}")
        for statement_ in ddl:
            session.execute(statement_)
        result = session.execute(query, max_rows=limit, timeout=timeout)
    return AdhocResult(result.columns, result.rows, result.complete)


def reap_orphan_queries(engine: Engine) -> None:
    """Cancel jobs and drop slots of `warehouse sql --stream` runs whose process is gone."""
    orphans = {job.name: job for job in engine.jobmanager.jobs() if job.name.startswith(SLOT_PREFIX)}
    dead = [name for name in orphans if not psutil.pid_exists(slot_owner_pid(name, SLOT_PREFIX))]
    for name in dead:
        engine.remove(orphans[name].job_id if orphans[name].is_running else None, [name])


def _only_a_query(statement: str, tables: dict[str, Table]) -> str:
    if HINT.search(statement):
        raise ReadOnlyError(
            "hints (/*+ ... */) are refused in warehouse sql",
            hint="table options are the warehouse's to set: query the model's table as it is",
        )
    statements = parse(statement)
    if len(statements) != 1:
        raise ReadOnlyError(f"expected one query, got {len(statements)} statements", hint="run them one at a time")
    parsed = statements[0]
    if isinstance(parsed, QUERY_TYPES):
        return statement.strip().rstrip(";")
    target = parsed.find(exp.Table)
    touched = f" ({target.name} is a catalog table)" if target is not None and target.name in tables else ""
    raise ReadOnlyError(
        f"warehouse sql only runs queries; {parsed.key.upper()} is refused{touched}",
        hint="tables are written by models: change the model and `warehouse run`",
    )


def _declarations(
    store: StoreConnection, tables: dict[str, Table], query: str, stream: bool, slot: str
) -> tuple[list[str], list[str]]:
    ddl, slots, declared = [], [], set()
    for ref in table_references(query):
        table = tables.get(ref.name)
        if table is None or ref.catalog or ref.database or ref.name in declared:
            continue
        declared.add(ref.name)
        columns = [FlinkColumn(c.name, flink_type(c.data_type)) for c in table.columns]
        if ref.temporal:
            options = jdbc_lookup_options(store, table.database, table.qualified, LookupCache())
        elif stream:
            _require_binlog(store, table)
            options = cdc_options(store, table.database, table.schema, table.name, slot, PUBLICATION)
            slots.append(slot)
        else:
            options = jdbc_scan_options(store, table.database, table.qualified)
        extra = [f"{flink('proc_time')} AS PROCTIME()"] if "proc_time" in query else []
        ddl.append(table_ddl(ref.name, columns, table.primary_key, options, extra))
    if len(slots) > 1:
        raise WarehouseError("a --stream query can read one table's binlog", hint="join the others as lookups")
    return ddl, slots


def _require_binlog(store: StoreConnection, table: Table) -> None:
    with connect(store) as conn:
        if not binlog_enabled(conn, table.schema, table.name):
            raise WarehouseError(
                f"{table.qualified} has its binlog off: it has no change stream",
                hint="query it with --batch, or set `binlog: true` in its schema yml and `warehouse run`",
            )


@contextmanager
def _slots_dropped(engine: Engine, slots: Sequence[str]) -> Iterator[None]:
    try:
        yield
    finally:
        if slots:
            drop_slots(engine.store, list(slots), wait=60)
