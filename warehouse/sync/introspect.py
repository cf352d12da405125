"""What a source database has: its tables, their columns (source and store types) and primary keys.

Read from the source's own catalog (MySQL's information_schema, PostgreSQL's pg_catalog), with the checks a
change-log reader needs first: a ROW binlog (MySQL) or `wal_level=logical` (PostgreSQL), and the privileges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from warehouse.config import MySqlConnection, StoreConnection
from warehouse.errors import ConfigError, ServiceUnavailable

MYSQL_COLUMNS = (
    "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.COLUMN_TYPE FROM information_schema.COLUMNS c "
    "JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME "
    "WHERE c.TABLE_SCHEMA = %s AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"
)
MYSQL_KEYS = (
    "SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE "
    "WHERE TABLE_SCHEMA = %s AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION"
)
PG_NOT_FULL = (
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND c.relreplident <> 'f'"
)
PG_COLUMNS = (
    "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
    "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY c.relname, a.attnum"
)
PG_KEYS = (
    "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
    "WHERE n.nspname = %s AND i.indisprimary ORDER BY c.relname, k.ord"
)


@dataclass(frozen=True)
class SourceColumn:
    name: str
    source_type: str  # as the source database prints it (MySQL COLUMN_TYPE, PostgreSQL format_type)


@dataclass(frozen=True)
class SourceTable:
    name: str
    columns: tuple[SourceColumn, ...]
    primary_key: tuple[str, ...]
    problem: str = ""  # why a change-log reader cannot follow it yet, with the fix (e.g. replica identity)

    def column(self, name: str) -> SourceColumn | None:
        return next((c for c in self.columns if c.name == name), None)


def mysql_tables(mysql: MySqlConnection, database: str, source: str) -> list[SourceTable]:
    """The base tables of a MySQL database; refuses a server whose binlog a reader cannot follow."""
    import pymysql

    from warehouse.mysqlclient import connect_mysql

    try:
        with connect_mysql(mysql) as conn:
            cursor = conn.cursor()
            require_row_binlog(cursor, source)
            cursor.execute("SHOW GRANTS")
            require_privileges([str(row[0]) for row in cursor.fetchall()], mysql.user, source)
            cursor.execute(MYSQL_COLUMNS, [database])
            columns = cursor.fetchall()
            cursor.execute(MYSQL_KEYS, [database])
            keys = cursor.fetchall()
    except ServiceUnavailable as exc:
        raise ServiceUnavailable(
            f"source {source}: {exc.message}", where=exc.where, hint="check `mysql` in profiles.yml"
        ) from None
    except pymysql.MySQLError as exc:
        raise ConfigError(f"source {source}: MySQL refused to list its tables: {exc}", hint=PRIVILEGES) from None
    return _tables(columns, keys)


PRIVILEGES = "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the sync user"


def require_row_binlog(cursor: Any, source: str) -> None:
    cursor.execute("SHOW VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', 'binlog_row_image')")
    settings = {str(name).lower(): str(value).upper() for name, value in cursor.fetchall()}
    wanted = {"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL"}
    wrong = [f"{name}={settings.get(name, '?')}" for name, value in wanted.items() if settings.get(name) != value]
    if wrong:
        raise ConfigError(
            f"source {source}: the MySQL server's binlog cannot be followed ({', '.join(wrong)})",
            hint="start the server with --log-bin --binlog-format=ROW --binlog-row-image=FULL",
        )


REPLICATION_PRIVILEGES = ("SELECT", "RELOAD", "REPLICATION SLAVE", "REPLICATION CLIENT")
EQUIVALENT = {"REPLICATION CLIENT": ("BINLOG MONITOR",)}  # MariaDB 10.5+ renamed it


def require_privileges(grants: list[str], user: str, source: str) -> None:
    """Refuse a MySQL user that could not snapshot or follow the binlog (from its SHOW GRANTS lines)."""
    granted = " ".join(line.upper() for line in grants)
    if "ALL PRIVILEGES ON *.*" in granted:
        return
    missing = [
        privilege
        for privilege in REPLICATION_PRIVILEGES
        if not any(name in granted for name in (privilege, *EQUIVALENT.get(privilege, ())))
    ]
    if missing:
        raise ConfigError(
            f"source {source}: the MySQL user {user} lacks {', '.join(missing)}",
            hint=f"GRANT {', '.join(REPLICATION_PRIVILEGES)} ON *.* TO {user} (as an administrator of the server)",
        )


def pg_tables(store: StoreConnection, database: str, schema: str, source: str) -> list[SourceTable]:
    """The tables of a PostgreSQL schema; refuses a server without logical decoding."""
    import psycopg

    from warehouse.store import connect

    try:
        with connect(store, database=database) as conn:
            level = conn.execute("SHOW wal_level").fetchone()
            if not level or level[0] != "logical":
                raise ConfigError(
                    f"source {source}: the database's wal_level is {level[0] if level else '?'}, not logical",
                    hint="set wal_level = logical in postgresql.conf and restart the server",
                )
            columns = conn.execute(PG_COLUMNS, [schema]).fetchall()
            keys = conn.execute(PG_KEYS, [schema]).fetchall()
            partial = {str(name) for (name,) in conn.execute(PG_NOT_FULL, [schema]).fetchall()}
    except psycopg.Error as exc:
        raise ConfigError(f"source {source}: cannot list the tables of {database}.{schema}: {exc}") from None
    return [_needs_full_identity(table, schema) if table.name in partial else table for table in _tables(columns, keys)]


def _needs_full_identity(table: SourceTable, schema: str) -> SourceTable:
    """postgres-cdc reads an update's old row, which PostgreSQL logs whole only under REPLICA IDENTITY FULL."""
    fix = f"ALTER TABLE {schema}.{table.name} REPLICA IDENTITY FULL"
    return replace(table, problem=f"its updates do not log the old row (replica identity is not full): run `{fix}`")


def _tables(columns: Iterable[tuple[Any, ...]], keys: Iterable[tuple[Any, ...]]) -> list[SourceTable]:
    by_table: dict[str, list[SourceColumn]] = {}
    for table, name, kind in columns:
        by_table.setdefault(str(table), []).append(SourceColumn(str(name), str(kind)))
    key_of: dict[str, list[str]] = {}
    for table, name in keys:
        key_of.setdefault(str(table), []).append(str(name))
    return [SourceTable(t, tuple(cols), tuple(key_of.get(t, []))) for t, cols in sorted(by_table.items())]
