"""The load generator: recorded operations applied to the shop database at a controlled rate.

Each transaction's operations are applied as a few set-based statements (rows passed as arrays through
`unnest`): inserts first, then updates (merged per key, last write wins), then deletes. The committed state after
every transaction is exactly that of applying its operations one by one; only the order of the row changes inside
a transaction differs. This keeps the feeder cheap enough that the contenders, not the feeder, use the two cores.
It runs in its own process, so that its CPU time is never charged to a contender and the GIL never delays a probe.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from warehouse.bench.workload import is_order_insert, read_ops
from warehouse.config import StoreConnection
from warehouse.demo.generator import Op, Value
from warehouse.demo.loader import chunks
from warehouse.demo.schema import SHOP_DATABASE, SHOP_SCHEMA, SHOP_TABLES
from warehouse.identifiers import pg
from warehouse.store import connect

MAX_OPS_PER_COMMIT = 5_000
KIND_ORDER = {"insert": 0, "update": 1, "delete": 2}


@dataclass
class Counters:
    """Progress shared with the parent process."""

    ops: Synchronized[int]
    orders: Synchronized[int]
    started_at: Synchronized[float]
    finished_at: Synchronized[float]


def apply_batched(
    conn: psycopg.Connection[Any], ops: Iterable[Op], rate: float | None, per_commit: int, counters: Counters | None
) -> int:
    """Apply `ops`, `per_commit` to a transaction, at most `rate` operations per second; return how many."""
    statements = _Statements(conn)
    started, applied = time.monotonic(), 0
    for chunk in chunks(ops, max(1, min(per_commit, MAX_OPS_PER_COMMIT))):
        with conn.pipeline(), conn.transaction():
            for statement, params in statements.for_transaction(chunk):
                conn.execute(statement, params)
        applied += len(chunk)
        if counters is not None:
            _count(counters, chunk)
        if rate is not None:
            time.sleep(max(0.0, started + applied / rate - time.monotonic()))
    return applied


class FeederProcess:
    """One ladder step's file fed from a child process."""

    def __init__(self, store: StoreConnection, path: Path, rate: float, per_commit: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.counters = Counters(
            context.Value("q", 0), context.Value("q", 0), context.Value("d", 0.0), context.Value("d", 0.0)
        )
        self.errors = context.Queue()
        self.process = context.Process(
            target=_feed_file, args=(store, path, rate, per_commit, self.counters, self.errors), daemon=True
        )

    def start(self) -> None:
        self.process.start()

    @property
    def ops(self) -> int:
        return int(self.counters.ops.value)

    @property
    def orders(self) -> int:
        return int(self.counters.orders.value)

    def started(self) -> float | None:
        """When the first transaction began (epoch seconds); None before."""
        return self.counters.started_at.value or None

    def finished(self) -> float | None:
        """When the last operation was committed (epoch seconds); None while feeding."""
        return self.counters.finished_at.value or None

    def error(self) -> str | None:
        if self.process.is_alive() or self.process.exitcode == 0:
            return None
        return str(self.errors.get()) if not self.errors.empty() else f"feeder exited with {self.process.exitcode}"

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
        self.process.join(10)


def _feed_file(
    store: StoreConnection, path: Path, rate: float, per_commit: int, counters: Counters, errors: Any
) -> None:
    try:
        with connect(store, database=SHOP_DATABASE) as conn:
            counters.started_at.value = time.time()
            apply_batched(conn, read_ops(path), rate, per_commit, counters)
        counters.finished_at.value = time.time()
    except Exception as exc:  # reported to the parent, which fails the step with it
        errors.put(f"{type(exc).__name__}: {exc}")
        raise SystemExit(1) from None


def _count(counters: Counters, chunk: list[Op]) -> None:
    with counters.ops.get_lock():
        counters.ops.value += len(chunk)
    with counters.orders.get_lock():
        counters.orders.value += sum(1 for op in chunk if is_order_insert(op))


Statement = tuple[bytes, list[str]]


class _Statements:
    """Set-based statements for one transaction's operations, with the shop tables' column types.

    Rows travel as array literals (one text parameter per column, cast to the column's type by the server), and
    each statement shape is composed once.
    """

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        rows = conn.execute(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped",
            [SHOP_SCHEMA, list(SHOP_TABLES)],
        ).fetchall()
        self.types = {(str(table), str(column)): str(type_) for table, column, type_ in rows}
        self.cache: dict[tuple[str, str, tuple[str, ...]], bytes] = {}

    def for_transaction(self, ops: list[Op]) -> Iterator[Statement]:
        groups: dict[tuple[int, str, tuple[str, ...]], dict[int, dict[str, Value]]] = {}
        for op in ops:
            columns = tuple(op.values) if op.kind == "insert" else ()
            rows = groups.setdefault((KIND_ORDER[op.kind], op.table, columns), {})
            rows.setdefault(op.key, {}).update(op.values)
        for (kind, table, columns), rows in sorted(groups.items()):
            if kind == KIND_ORDER["insert"]:
                yield self._insert(table, columns, list(rows.values()))
            elif kind == KIND_ORDER["update"]:
                yield from self._updates(table, rows)
            else:
                yield self._delete(table, list(rows))

    def _insert(self, table: str, columns: tuple[str, ...], rows: list[dict[str, Value]]) -> Statement:
        arrays = [_array([row[column] for row in rows]) for column in columns]
        return self._statement("insert", table, columns), arrays

    def _updates(self, table: str, rows: dict[int, dict[str, Value]]) -> Iterator[Statement]:
        by_columns: dict[tuple[str, ...], dict[int, dict[str, Value]]] = {}
        for key, values in rows.items():
            by_columns.setdefault(tuple(sorted(values)), {})[key] = values
        for columns, group in by_columns.items():
            arrays = [_array(list(group)), *[_array([group[key][column] for key in group]) for column in columns]]
            yield self._statement("update", table, columns), arrays

    def _delete(self, table: str, keys: list[int]) -> Statement:
        return self._statement("delete", table, ()), [_array(list(keys))]

    def _statement(self, kind: str, table: str, columns: tuple[str, ...]) -> bytes:
        shape = (kind, table, columns)
        if shape not in self.cache:
            self.cache[shape] = _compose(kind, table, columns, self.types).as_bytes(self.conn)
        return self.cache[shape]


def _compose(kind: str, table: str, columns: tuple[str, ...], types: dict[tuple[str, str], str]) -> sql.Composed:
    key = SHOP_TABLES[table].key
    target = pg(SHOP_SCHEMA, table)
    if kind == "insert":
        arrays = _typed_arrays(table, columns, types)
        return sql.SQL("INSERT INTO {} ({}) SELECT * FROM unnest({})").format(
            target, sql.SQL(", ").join(map(pg, columns)), arrays
        )
    if kind == "update":
        assignments = sql.SQL(", ").join(sql.SQL("{} = v.{}").format(pg(c), pg(c)) for c in columns)
        names = sql.SQL(", ").join(map(pg, (key, *columns)))
        arrays = _typed_arrays(table, (key, *columns), types)
        return sql.SQL("UPDATE {} AS t SET {} FROM unnest({}) AS v({}) WHERE t.{} = v.{}").format(
            target, assignments, arrays, names, pg(key), pg(key)
        )
    return sql.SQL("DELETE FROM {} WHERE {} = ANY({})").format(target, pg(key), _typed_arrays(table, (key,), types))


def _typed_arrays(table: str, columns: tuple[str, ...], types: dict[tuple[str, str], str]) -> sql.Composed:
    return sql.SQL(", ").join(sql.SQL("%s::text[]::{}[]").format(sql.SQL(types[(table, c)])) for c in columns)


def _array(values: list[Value] | list[int]) -> str:
    """A PostgreSQL array literal with every element quoted."""
    quoted = (str(value).replace("\\", "\\\\").replace('"', '\\"') for value in values)
    return "{" + ",".join(f'"{element}"' for element in quoted) + "}"
