"""Apply a workload to the shop database: bound parameters, pipelined, committed in small transactions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sized
from itertools import islice
from typing import Any

import psycopg
from psycopg import sql

from warehouse.demo.generator import Op
from warehouse.demo.schema import SHOP_SCHEMA, SHOP_TABLES
from warehouse.identifiers import pg

Progress = Callable[[str], None]
PROGRESS_INTERVAL = 1.0
COMMITS_PER_SECOND_WHEN_LIMITED = 20


def apply(
    conn: psycopg.Connection[Any],
    ops: Iterable[Op],
    rate: float | None = None,
    batch: int = 500,
    progress: Progress | None = None,
) -> int:
    """Execute the operations in order, `batch` per transaction, at most `rate` operations per second.

    Return how many operations were applied. A failing operation raises, and its transaction is rolled back.
    """
    if rate is not None and rate <= 0:
        raise ValueError("rate must be positive")
    size = batch if rate is None else max(1, min(batch, int(rate / COMMITS_PER_SECOND_WHEN_LIMITED)))
    meter = Meter(rate, progress, len(ops) if isinstance(ops, Sized) else None)
    statements = _Statements(conn)
    with conn.pipeline(), conn.cursor() as cursor:
        for chunk in chunks(ops, size):
            with conn.transaction():
                for op in chunk:
                    cursor.execute(statements.of(op), parameters(op))
            meter.done(len(chunk))
    meter.finish()
    return meter.applied


class _Statements:
    """One statement per shape (kind, table, columns), composed once (psycopg then prepares the frequent ones)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.cache: dict[tuple[str, str, tuple[str, ...]], bytes] = {}

    def of(self, op: Op) -> bytes:
        shape = (op.kind, op.table, tuple(op.values) if op.kind != "delete" else ())
        statement = self.cache.get(shape)
        if statement is None:
            statement = self.cache[shape] = _statement(op).as_bytes(self.conn)
        return statement


def _statement(op: Op) -> sql.Composed:
    if op.table not in SHOP_TABLES:
        raise ValueError(f"unknown shop table {op.table!r}")
    table, key = pg(SHOP_SCHEMA, op.table), pg(SHOP_TABLES[op.table].key)
    columns = [pg(column) for column in op.values]
    if op.kind == "insert":
        placeholders = sql.SQL(", ").join(sql.Placeholder() * len(columns))
        return sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(table, sql.SQL(", ").join(columns), placeholders)
    if op.kind == "update":
        assignments = sql.SQL(", ").join(sql.SQL("{} = %s").format(column) for column in columns)
        return sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(table, assignments, key)
    return sql.SQL("DELETE FROM {} WHERE {} = %s").format(table, key)


def parameters(op: Op) -> list[Any]:
    # Timestamps and decimals travel as strings of unknown type: PostgreSQL parses them into the column's type.
    if op.kind == "insert":
        return list(op.values.values())
    if op.kind == "update":
        return [*op.values.values(), op.key]
    return [op.key]


def chunks(ops: Iterable[Op], size: int) -> Iterator[list[Op]]:
    iterator = iter(ops)
    while chunk := list(islice(iterator, size)):
        yield chunk


class Meter:
    """Counts applied operations, holds them to the target rate, and reports about once a second."""

    def __init__(self, rate: float | None, progress: Progress | None, total: int | None) -> None:
        self.rate = rate
        self.progress = progress
        self.total = total
        self.applied = 0
        self.started = self.last_report = time.monotonic()

    def done(self, count: int) -> None:
        self.applied += count
        now = time.monotonic()
        if self.rate is not None:
            ahead = self.started + self.applied / self.rate - now
            if ahead > 0:
                time.sleep(ahead)
                now += ahead
        if self.progress is not None and now - self.last_report >= PROGRESS_INTERVAL:
            self.last_report = now
            self.progress(self._summary(now))

    def finish(self) -> None:
        if self.progress is not None:
            self.progress(self._summary(time.monotonic()))

    def _summary(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        of_total = f"/{self.total}" if self.total is not None else ""
        return f"applied {self.applied}{of_total} operations in {elapsed:.1f}s ({self.applied / elapsed:.0f} ops/s)"
