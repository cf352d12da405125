"""Lookup-side fixtures: the dimension's rows in a scratch schema of the store, dropped after the test.

A lookup join asks the store by key for every stream row (FOR SYSTEM_TIME AS OF), so a lookup fixture must be
a real table; each test gets its own schema `wh_unit_<pid>_<n>` in the dimension's database. Schemas left by a
process that died are dropped by the next run.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import psutil
from psycopg import sql

from warehouse.config import StoreConnection
from warehouse.identifiers import pg
from warehouse.modeltests.inputs import LookupInput
from warehouse.project import Table
from warehouse.store import connect
from warehouse.types import normalize_pg_type

SCHEMA_PREFIX = "wh_unit_"
_OWNED = re.compile(rf"^{SCHEMA_PREFIX}(\d+)_\d+$")
_sequence = itertools.count()


@contextmanager
def lookup_tables(store: StoreConnection, lookups: Sequence[LookupInput]) -> Iterator[dict[str, str]]:
    """Load every lookup fixture; yield {name the model reads: `schema.table` in the store}."""
    if not lookups:
        yield {}
        return
    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{next(_sequence)}"
    databases = sorted({lookup.table.database for lookup in lookups})
    try:
        for lookup in lookups:
            _load(store, schema, lookup)
        yield {lookup.name: f"{schema}.{lookup.table.name}" for lookup in lookups}
    finally:
        for database in databases:
            with connect(store, database=database) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(schema)))


def _load(store: StoreConnection, schema: str, lookup: LookupInput) -> None:
    table = lookup.table
    with connect(store, database=table.database) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg(schema)))
        conn.execute(_create_table(schema, table))
        if lookup.rows:
            names = table.column_names()
            insert = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                pg(schema, table.name),
                sql.SQL(", ").join(pg(name) for name in names),
                sql.SQL(", ").join(sql.Placeholder() for _ in names),
            )
            with conn.cursor() as cursor:
                cursor.executemany(insert, [[row.get(name) for name in names] for row in lookup.rows])


def _create_table(schema: str, table: Table) -> sql.Composed:
    columns = [sql.SQL("{} {}").format(pg(c.name), sql.SQL(normalize_pg_type(c.data_type))) for c in table.columns]
    key = sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(pg(k) for k in table.primary_key))
    return sql.SQL("CREATE TABLE {} ({})").format(pg(schema, table.name), sql.SQL(", ").join([*columns, key]))


def reap_orphan_schemas(store: StoreConnection, databases: Sequence[str]) -> None:
    """Drop scratch schemas whose process is gone (a run that was killed)."""
    for database in databases:
        with connect(store, database=database) as conn:
            names = [str(row[0]) for row in conn.execute("SELECT nspname FROM pg_namespace")]
            for name in names:
                owner = _OWNED.match(name)
                if owner and not psutil.pid_exists(int(owner.group(1))):
                    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(pg(name)))
