"""A table as it is now, read from the store into Arrow: columns, filter, order, limit.

The query is built as a sqlglot expression: the filter is parsed, checked to use only the table's
columns, plain operators and a few pure functions, and generated again, so user text never reaches
the store as SQL. It runs in a READ ONLY transaction and streams out through COPY, which Arrow's
CSV reader turns into columns without a Python loop over rows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import sqlglot
from sqlglot import exp

from warehouse.config import StoreConnection
from warehouse.errors import WarehouseError
from warehouse.project import Table
from warehouse.store import connect
from warehouse.types import parse_pg_type

# Pure functions a filter may call, by sqlglot's class for them (a name check would let `md5('lower')` through).
ALLOWED_FUNCTIONS: dict[type[exp.Func], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Coalesce: "coalesce",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Length: "length",
    exp.TimestampTrunc: "date_trunc",
    exp.DateTrunc: "date_trunc",
    exp.CurrentTimestamp: "now",
    exp.CurrentDate: "current_date",
    exp.Trim: "trim",
}
ALLOWED_NODES = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Not,
    exp.And,
    exp.Or,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.Mod,
    exp.Neg,
    exp.Cast,
    exp.DataType,
    exp.Interval,
    exp.Var,
    exp.Tuple,
)
ARROW_TYPES = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "text": pa.string(),
    "character varying": pa.string(),
    "character": pa.string(),
    "json": pa.string(),
    "jsonb": pa.string(),
    "uuid": pa.string(),
}


class ExploreError(WarehouseError):
    """An exploration request that cannot be served as asked."""


def read_table(
    store: StoreConnection,
    table: Table,
    columns: Sequence[str] | None = None,
    where: str | None = None,
    order_by: Sequence[str] | None = None,
    limit: int | None = None,
) -> pa.Table:
    chosen = _columns(table, columns)
    query = select_query(table, chosen, where, order_by, limit)
    with read_only_connection(store) as conn:
        data = _copy_out(conn, query)
    return _to_arrow(data, table, chosen)


@contextmanager
def read_only_connection(store: StoreConnection) -> Iterator[psycopg.Connection[Any]]:
    """A connection whose transactions are READ ONLY: exploring can never write."""
    with connect(store, autocommit=False) as conn:
        conn.read_only = True
        try:
            yield conn
        finally:
            conn.rollback()


def select_query(
    table: Table, columns: Sequence[str], where: str | None, order_by: Sequence[str] | None, limit: int | None
) -> str:
    query = exp.select(*(exp.column(c, quoted=True) for c in columns)).from_(
        exp.table_(table.name, db=table.schema, quoted=True)
    )
    if where:
        query = query.where(_condition(table, where))
    for item in order_by or []:
        query = query.order_by(_order(table, item))
    if limit is not None:
        if limit < 0:
            raise ExploreError(f"--limit must be >= 0, not {limit}")
        query = query.limit(limit)
    return query.sql(dialect="postgres")


def _columns(table: Table, columns: Sequence[str] | None) -> list[str]:
    if not columns:
        return table.column_names()
    unknown = [c for c in columns if c not in table.column_names()]
    if unknown:
        raise ExploreError(f"{table.qualified} has no column(s) {unknown}", hint=f"choose from {table.column_names()}")
    return list(columns)


def _condition(table: Table, where: str) -> exp.Expr:
    try:
        condition = sqlglot.parse_one(where, dialect="postgres", into=exp.Condition)
    except sqlglot.errors.ParseError as exc:
        raise ExploreError(f"cannot parse the filter {where!r}: {str(exc).splitlines()[0]}") from None
    for node in condition.walk():
        _check_filter_node(table, node, where)
    return condition


def _check_filter_node(table: Table, node: exp.Expr, where: str) -> None:
    if isinstance(node, exp.Column) and node.name not in table.column_names():
        raise ExploreError(
            f"the filter refers to {node.name}, not a column of {table.qualified}",
            hint=f"columns: {', '.join(table.column_names())}",
        )
    if isinstance(node, ALLOWED_NODES):
        return
    if type(node) in ALLOWED_FUNCTIONS:
        return
    if isinstance(node, exp.Func):
        name = node.name if isinstance(node, exp.Anonymous) else node.sql_name()
        raise ExploreError(
            f"function {name.lower()} is not allowed in a filter",
            hint=f"allowed: {', '.join(sorted(set(ALLOWED_FUNCTIONS.values())))}",
        )
    raise ExploreError(
        f"the filter {where!r} uses {node.key.upper()}, which explore does not allow",
        hint="use comparisons, AND/OR/NOT, IN, BETWEEN, LIKE, IS NULL and simple functions",
    )


def _order(table: Table, item: str) -> exp.Ordered:
    name, _, direction = item.strip().partition(" ")
    if name not in table.column_names() or direction.strip().lower() not in ("", "asc", "desc"):
        raise ExploreError(f"cannot order by {item!r}", hint="use `column` or `column desc` with a column of the table")
    return exp.Ordered(this=exp.column(name, quoted=True), desc=direction.strip().lower() == "desc")


def _copy_out(conn: psycopg.Connection[Any], query: str) -> bytes:
    buffer = io.BytesIO()
    with conn.cursor() as cursor:
        cursor.execute("SET LOCAL TimeZone = 'UTC'")
        with cursor.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                buffer.write(block)
    return buffer.getvalue()


def _to_arrow(data: bytes, table: Table, columns: list[str]) -> pa.Table:
    types = {c.name: arrow_type(c.data_type) for c in table.columns}
    schema = pa.schema([(name, types[name]) for name in columns])
    if not data:
        return schema.empty_table()
    options = pa_csv.ConvertOptions(
        column_types=schema, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    read = pa_csv.ReadOptions(column_names=columns)
    return pa_csv.read_csv(io.BytesIO(data), read_options=read, convert_options=options)


def arrow_type(pg_type: str) -> pa.DataType:
    parsed = parse_pg_type(pg_type)
    if parsed.name == "numeric":
        precision, scale = parsed.modifiers if parsed.modifiers else (38, 10)
        return pa.decimal128(precision, scale)
    if parsed.name.startswith("timestamp"):
        return pa.timestamp("us", tz="UTC" if parsed.name.endswith("with time zone") else None)
    return ARROW_TYPES.get(parsed.name, pa.string())
