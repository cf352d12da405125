"""Flink DDL for the connectors the warehouse uses: postgres-cdc and mysql-cdc (binlog side), JDBC (sink and
lookup side)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from warehouse.config import JobTuning, MySqlConnection, StoreConnection, milliseconds, mysql_login
from warehouse.identifiers import flink, flink_string
from warehouse.secrets import reference
from warehouse.store import jdbc_url


@dataclass(frozen=True)
class FlinkColumn:
    name: str
    type: str


@dataclass(frozen=True)
class LookupCache:
    """`none`, `lru` (partial cache) or `all` (every row loaded up front, reloaded every `ttl`)."""

    mode: str = "none"
    max_rows: int = 10_000
    ttl: str = "10min"
    cache_missing: bool = False


def table_ddl(
    name: str | tuple[str, ...],
    columns: Sequence[FlinkColumn],
    primary_key: Sequence[str],
    options: dict[str, str],
    extra: Sequence[str] = (),
) -> str:
    lines = [f"  {flink(c.name)} {c.type}" for c in columns] + [f"  {line}" for line in extra]
    if primary_key:
        lines.append(f"  PRIMARY KEY ({', '.join(flink(k) for k in primary_key)}) NOT ENFORCED")
    with_clause = ",\n".join(f"  {flink_string(k)} = {flink_string(v)}" for k, v in options.items())
    parts = (name,) if isinstance(name, str) else name
    return f"CREATE TEMPORARY TABLE {flink(*parts)} (\n" + ",\n".join(lines) + f"\n) WITH (\n{with_clause}\n)"


DEFAULT_TUNING = JobTuning()


def cdc_options(
    store: StoreConnection,
    database: str,
    schema: str,
    table: str,
    slot: str,
    publication: str,
    tuning: JobTuning = DEFAULT_TUNING,
) -> dict[str, str]:
    """postgres-cdc over pgoutput for one table, reading a pre-created publication (see FIELD_NOTES:
    publications). The mirrors of a synced schema share one reader instead (postgres_database_options)."""
    return {
        "connector": "postgres-cdc",
        **_postgres_reader(store, database, schema, slot, publication, tuning),
        "table-name": table,
        "decoding.plugin.name": "pgoutput",
        "scan.incremental.snapshot.enabled": "true",
        "heartbeat.interval.ms": "10000",
    }


def postgres_database_options(
    store: StoreConnection, database: str, schema: str, slot: str, tuning: JobTuning = DEFAULT_TUNING
) -> dict[str, str]:
    """The warehouse's `warehouse-postgres-database` source (resources/flink): ONE slot for several tables of a
    schema, routed by table, over the publication of the slot's name (the lifecycle creates it for exactly
    those tables)."""
    return {
        "connector": "warehouse-postgres-database",
        **_postgres_reader(store, database, schema, slot, slot, tuning),
        "heartbeat.interval": "10s",
    }


def _postgres_reader(
    store: StoreConnection, database: str, schema: str, slot: str, publication: str, tuning: JobTuning
) -> dict[str, str]:
    """Debezium sleeps `poll.interval.ms` (default 500) whenever the slot had nothing new for a few reads,
    which at moderate rates adds ~half of it to every hop; `cdc_poll_interval` bounds that wait."""
    return {
        "hostname": store.host,
        "port": str(store.port),
        "username": store.user,
        "password": reference(store.user),
        "database-name": database,
        "schema-name": schema,
        "slot.name": slot,
        "debezium.publication.name": publication,
        "debezium.publication.autocreate.mode": "disabled",
        "debezium.poll.interval.ms": str(milliseconds(tuning.cdc_poll_interval)),
    }


SERVER_IDS_PER_READER = 8  # a mysql-cdc reader takes one server id per parallel subtask
FIRST_SERVER_ID = 10_000  # below: left to the servers themselves and to other replicas


def mysql_cdc_options(mysql: MySqlConnection, database: str, table: str, reader: str) -> dict[str, str]:
    """mysql-cdc over the binlog (ROW format) for one table: incremental snapshot, then the binlog from where
    it ended. The mirrors of a synced database share one reader instead (mysql_database_options)."""
    return {
        "connector": "mysql-cdc",
        **_mysql_reader(mysql, database, reader),
        "table-name": table,
        "scan.incremental.snapshot.enabled": "true",
    }


def mysql_database_options(
    mysql: MySqlConnection, database: str, chunk_keys: dict[str, str], reader: str
) -> dict[str, str]:
    """The warehouse's `warehouse-mysql-database` source (resources/flink): ONE binlog reader for several
    tables of a database, routed by table. `chunk_keys`: table -> the column its snapshot is split by (the
    first column of the key the warehouse mirrors it by, so a table with a declared key splits too)."""
    options = {"connector": "warehouse-mysql-database", **_mysql_reader(mysql, database, reader)}
    return options | {f"chunk-key.{table}": column for table, column in chunk_keys.items()}


def _mysql_reader(mysql: MySqlConnection, database: str, reader: str) -> dict[str, str]:
    """Every binlog reader of a MySQL server needs a server id no other replica uses: a range derived from
    `reader` (the job and what it reads), stable across restarts. Unsigned bigints are read exactly
    (`precise`); `tinyInt1isBit=false` keeps `tinyint(1)` a number in the snapshot as in the binlog
    (mysqltypes.py)."""
    first = FIRST_SERVER_ID + zlib.crc32(reader.encode()) % 2_000_000_000
    return {
        "hostname": mysql.host,
        "port": str(mysql.port),
        "username": mysql.user,
        "password": reference(mysql_login(mysql.user)),
        "database-name": database,
        "server-id": f"{first}-{first + SERVER_IDS_PER_READER - 1}",
        "server-time-zone": mysql.server_time_zone,
        "heartbeat.interval": "10s",
        "debezium.bigint.unsigned.handling.mode": "precise",
        "jdbc.properties.tinyInt1isBit": "false",
    }


def jdbc_sink_options(
    store: StoreConnection,
    database: str,
    qualified_table: str,
    tuning: JobTuning = DEFAULT_TUNING,
    application_name: str | None = None,
) -> dict[str, str]:
    """An upsert sink. pgjdbc rewrites each flush's upserts into multi-row INSERTs (keys are unique within a
    flush: the sink keeps the last change per key); `application_name` identifies the writer to the store.
    `stringtype=unspecified`: a STRING value is sent untyped, so PostgreSQL casts it to its column's type
    (json, jsonb, uuid are STRING in Flink; typed as varchar they are refused)."""
    parameters = {"reWriteBatchedInserts": "true", "stringtype": "unspecified"}
    parameters |= {"ApplicationName": application_name} if application_name else {}
    return {
        **_jdbc(store, database, qualified_table),
        "url": f"{jdbc_url(store, database)}?{urlencode(parameters)}",
        "sink.buffer-flush.max-rows": str(tuning.sink_flush_max_rows),
        "sink.buffer-flush.interval": f"{milliseconds(tuning.sink_flush_interval)}ms",
        "sink.max-retries": "5",
    }


def jdbc_lookup_options(
    store: StoreConnection, database: str, qualified_table: str, cache: LookupCache
) -> dict[str, str]:
    options = _jdbc(store, database, qualified_table)
    if cache.mode == "lru":
        options |= {
            "lookup.cache": "PARTIAL",
            "lookup.partial-cache.max-rows": str(cache.max_rows),
            "lookup.partial-cache.expire-after-write": cache.ttl,
            "lookup.partial-cache.cache-missing-key": str(cache.cache_missing).lower(),
        }
    return options


def jdbc_scan_options(store: StoreConnection, database: str, qualified_table: str) -> dict[str, str]:
    """A bounded read of the whole table (batch queries)."""
    return {**_jdbc(store, database, qualified_table), "scan.fetch-size": "5000"}


def _jdbc(store: StoreConnection, database: str, qualified_table: str) -> dict[str, str]:
    return {
        "connector": "jdbc",
        "url": jdbc_url(store, database),
        "table-name": qualified_table,
        "username": store.user,
        "password": reference(store.user),
    }
