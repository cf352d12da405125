"""The catalog: every model's table in the store, kept in step with its schema yml.

One PostgreSQL schema per layer. A table with its binlog on is a member of the warehouse publication
and has REPLICA IDENTITY FULL (its change log carries full before-images, which the CDC reader of
the next layer needs). Orientation is recorded always; on PostgreSQL (row storage only) it sets the
fill factor: `row` tables keep room for in-place (HOT) updates of point-updated rows, `column`
tables are packed for scans.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from warehouse.config import StoreConnection
from warehouse.errors import WarehouseError
from warehouse.identifiers import pg
from warehouse.project import Model, Table
from warehouse.store import connect
from warehouse.types import compatible_change, holds_values_of, normalize_pg_type, parse_pg_type

REGISTRY_SCHEMA = "_warehouse"
PUBLICATION = "wh_binlog"
LATE_ROWS = "late_rows"
FILLFACTOR = {"row": 90, "row,column": 90, "column": 100}


class CatalogError(WarehouseError):
    """A declared table cannot be reconciled with the table in the store."""


@dataclass(frozen=True)
class TableChange:
    """How a model's table in the store differs from its schema yml, found without changing anything."""

    table: str
    action: str  # create | alter | unchanged | incompatible (and, once applied: created | altered | rebuilt)
    detail: str = ""
    problems: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """What the decision table needs: none | additive | incompatible."""
        if self.action == "incompatible":
            return "incompatible"
        return "none" if self.action == "unchanged" else "additive"


@dataclass(frozen=True)
class CatalogEntry:
    table: str
    model: str
    orientation: str
    binlog: str
    primary_key: list[str]
    rows: int
    exists: bool


class Catalog:
    def __init__(self, store: StoreConnection) -> None:
        self.store = store

    def ensure_registry(self, conn: psycopg.Connection[Any]) -> None:
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg(REGISTRY_SCHEMA)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (schema_name text, table_name text, model text NOT NULL, "
                "orientation text NOT NULL, binlog boolean NOT NULL, binlog_retention text NOT NULL, "
                "primary_key text[] NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (schema_name, table_name))"
            ).format(pg(REGISTRY_SCHEMA, "tables"))
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (model text, stream text, row_key text, payload text NOT NULL, "
                "reason text NOT NULL, rejected_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (model, stream, row_key))"
            ).format(pg(REGISTRY_SCHEMA, "rejected_rows"))
        )
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (model text NOT NULL, upstream text NOT NULL, change text NOT NULL, "
                "row_key text NOT NULL, payload text NOT NULL, event_time timestamp(3), committed_at timestamptz, "
                "watermark timestamp(3), recorded_at timestamptz NOT NULL DEFAULT now())"
            ).format(pg(REGISTRY_SCHEMA, LATE_ROWS))
        )
        conn.execute(  # a replay after a failure writes the same changes again: they are the same rows
            sql.SQL(
                "CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} "
                "(model, upstream, change, row_key, committed_at, md5(payload))"
            ).format(pg(f"{LATE_ROWS}_change"), pg(REGISTRY_SCHEMA, LATE_ROWS))
        )
        exists = conn.execute("SELECT 1 FROM pg_publication WHERE pubname = %s", [PUBLICATION]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE PUBLICATION {}").format(pg(PUBLICATION)))

    def inspect(self, model: Model) -> TableChange:
        """What `sync` would do to the model's table; changes nothing (a missing store schema reads as empty)."""
        table = model.table
        with connect(self.store) as conn:
            existing = _existing_columns(conn, table)
            if not existing:
                return TableChange(table.qualified, "create")
            problems = _incompatibilities(model, existing, _existing_primary_key(conn, table))
        if problems:
            return TableChange(table.qualified, "incompatible", "; ".join(problems), tuple(problems))
        steps = [text for text, _ in _evolution(table, existing)]
        return TableChange(table.qualified, "alter" if steps else "unchanged", ", ".join(steps))

    def source_mismatches(self, sources: Sequence[Table]) -> list[str]:
        """Where a source's declared columns cannot hold what its database table has (read-only)."""
        problems = []
        for table in sources:
            with connect(self.store, database=table.database) as conn:
                actual = _existing_columns(conn, table)
            name = f"source {table.database}.{table.qualified}"
            if not actual:
                problems.append(f"{name} does not exist (or has no columns) in the database")
                continue
            problems += [f"{name}: {problem}" for problem in _narrower_than_actual(table, actual)]
        return problems

    def sync(self, model: Model, rebuild: bool = False) -> TableChange:
        """Create or evolve the model's table; `rebuild` drops and recreates it."""
        table = model.table
        with connect(self.store) as conn, conn.transaction():
            self.ensure_registry(conn)
            conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(pg(table.schema)))
            existing = _existing_columns(conn, table)
            if existing and rebuild:
                conn.execute(sql.SQL("DROP TABLE {} CASCADE").format(pg(table.schema, table.name)))
                existing = {}
            change = self._create(conn, model) if not existing else self._evolve(conn, model, existing)
            if rebuild and change.action == "created":
                change = TableChange(change.table, "rebuilt")
            self._apply_properties(conn, model)
            _skip_unchanged_updates(conn, table)
            return change

    def partial_update_trigger(self, model: Model, streams: dict[str, list[str]]) -> None:
        """A delete from one stream clears only that stream's columns (see README 'Partial update')."""
        with connect(self.store) as conn, conn.transaction():
            conn.execute(_delete_trigger_function(model.table, streams))
            trigger = pg(f"{model.table.name}__wh_stream_delete")
            target = pg(model.table.schema, model.table.name)
            conn.execute(sql.SQL("DROP TRIGGER IF EXISTS {} ON {}").format(trigger, target))
            conn.execute(
                sql.SQL("CREATE TRIGGER {} BEFORE DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}()").format(
                    trigger, target, _trigger_function_name(model.table)
                )
            )

    def clear(self, model: Model) -> None:
        """Delete every row (as DELETEs, so readers of the binlog retract them too), its rejected and late rows."""
        table = model.table
        with connect(self.store) as conn, conn.transaction():
            conn.execute(sql.SQL("DELETE FROM {}").format(pg(table.schema, table.name)))
            _forget_kept_rows(conn, [model.name])

    def forget_kept_rows(self, models: list[str]) -> None:
        """Delete the models' rejected and late rows (their new version is about to write them again)."""
        with connect(self.store) as conn, conn.transaction():
            _forget_kept_rows(conn, models)

    def entries(self, models: Sequence[Model]) -> list[CatalogEntry]:
        with connect(self.store) as conn:
            return [_entry(conn, model) for model in models]

    def _create(self, conn: psycopg.Connection[Any], model: Model) -> TableChange:
        table = model.table
        columns = [sql.SQL("{} {}").format(pg(c.name), sql.SQL(normalize_pg_type(c.data_type))) for c in table.columns]
        key = sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(pg(k) for k in table.primary_key))
        conn.execute(
            sql.SQL("CREATE TABLE {} ({}) WITH (fillfactor = {})").format(
                pg(table.schema, table.name),
                sql.SQL(", ").join([*columns, key]),
                sql.Literal(FILLFACTOR[model.settings.orientation]),
            )
        )
        return TableChange(table.qualified, "created")

    def _evolve(self, conn: psycopg.Connection[Any], model: Model, existing: dict[str, str]) -> TableChange:
        table = model.table
        problems = _incompatibilities(model, existing, _existing_primary_key(conn, table))
        if problems:
            raise CatalogError(
                f"table {table.qualified} cannot be changed in place: {'; '.join(problems)}",
                where=model.path,
                hint=f"run `warehouse run -s {model.name} --full-refresh` to rebuild it (and its dependants)",
            )
        done = []
        for text, statement in _evolution(table, existing):
            conn.execute(statement)
            done.append(text)
        return TableChange(table.qualified, "altered" if done else "unchanged", ", ".join(done))

    def _apply_properties(self, conn: psycopg.Connection[Any], model: Model) -> None:
        table, settings = model.table, model.settings
        target = pg(table.schema, table.name)
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(target, sql.Literal(table.description or None)))
        for column in table.columns:
            conn.execute(
                sql.SQL("COMMENT ON COLUMN {} IS {}").format(
                    pg(table.schema, table.name, column.name), sql.Literal(column.description or None)
                )
            )
        conn.execute(
            sql.SQL("ALTER TABLE {} SET (fillfactor = {})").format(
                target, sql.Literal(FILLFACTOR[settings.orientation])
            )
        )
        _set_binlog(conn, table, settings.binlog.enabled)
        if settings.watermark is not None:
            _event_time_helpers(conn, table, settings.watermark.column)
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (schema_name, table_name, model, orientation, binlog, binlog_retention, primary_key) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (schema_name, table_name) DO UPDATE SET "
                "model = EXCLUDED.model, orientation = EXCLUDED.orientation, binlog = EXCLUDED.binlog, "
                "binlog_retention = EXCLUDED.binlog_retention, primary_key = EXCLUDED.primary_key, updated_at = now()"
            ).format(pg(REGISTRY_SCHEMA, "tables")),
            [
                table.schema,
                table.name,
                model.path,
                settings.orientation,
                settings.binlog.enabled,
                settings.binlog.retention,
                list(table.primary_key),
            ],
        )


def _forget_kept_rows(conn: psycopg.Connection[Any], models: list[str]) -> None:
    for kept in ("rejected_rows", LATE_ROWS):
        conn.execute(sql.SQL("DELETE FROM {} WHERE model = ANY(%s)").format(pg(REGISTRY_SCHEMA, kept)), [models])


def forget_table(conn: psycopg.Connection[Any], table: Table) -> None:
    """Forget a table gone from (or moved out of) its schema: its catalog entry and its event-time view."""
    entry = sql.SQL("DELETE FROM {} WHERE schema_name = %s AND table_name = %s")
    conn.execute(entry.format(pg(REGISTRY_SCHEMA, "tables")), [table.schema, table.name])
    conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(pg(*floor_view(table))))


def floor_view(table: Table) -> tuple[str, str]:
    """The store view (schema, name) with the newest event time of a table with a watermark (eventtime.py)."""
    return REGISTRY_SCHEMA, f"{table.schema}__{table.name}__newest"


def _event_time_helpers(conn: psycopg.Connection[Any], table: Table, column: str) -> None:
    """An index on the event-time column and the view of its newest value (read by windows after a restart)."""
    target = pg(table.schema, table.name)
    index = pg(f"{table.name}__wh_event_time")
    conn.execute(sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(index, target, pg(column)))
    view = pg(*floor_view(table))
    conn.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(view))
    newest = sql.SQL("date_trunc('milliseconds', max({}))").format(pg(column))  # as the watermark sees it
    conn.execute(sql.SQL("CREATE VIEW {} AS SELECT 1 AS k, {} AS newest FROM {}").format(view, newest, target))


def binlog_enabled(conn: psycopg.Connection[Any], schema: str, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s AND tablename = %s",
        [PUBLICATION, schema, name],
    ).fetchone()
    return row is not None


def _set_binlog(conn: psycopg.Connection[Any], table: Table, enabled: bool) -> None:
    target = pg(table.schema, table.name)
    member = binlog_enabled(conn, table.schema, table.name)
    if enabled:
        conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY FULL").format(target))
        if not member:
            conn.execute(sql.SQL("ALTER PUBLICATION {} ADD TABLE {}").format(pg(PUBLICATION), target))
    elif member:
        conn.execute(sql.SQL("ALTER PUBLICATION {} DROP TABLE {}").format(pg(PUBLICATION), target))
        conn.execute(sql.SQL("ALTER TABLE {} REPLICA IDENTITY DEFAULT").format(target))


def _existing_columns(conn: psycopg.Connection[Any], table: Table) -> dict[str, str]:
    rows = conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
        "JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        [table.schema, table.name],
    ).fetchall()
    return {str(name): str(kind) for name, kind in rows}


def _existing_primary_key(conn: psycopg.Connection[Any], table: Table) -> list[str]:
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum "
        "WHERE n.nspname = %s AND c.relname = %s AND i.indisprimary ORDER BY k.ord",
        [table.schema, table.name],
    ).fetchall()
    return [str(name) for (name,) in rows]


def _incompatibilities(model: Model, existing: dict[str, str], primary_key: list[str]) -> list[str]:
    """Why the declared table cannot replace the existing one in place (empty when it can)."""
    table = model.table
    problems = []
    if primary_key != list(table.primary_key):
        problems.append(f"primary key changes from {primary_key} to {list(table.primary_key)}")
    declared = {c.name: normalize_pg_type(c.data_type) for c in table.columns}
    problems += [f"column {name} is no longer declared" for name in existing if name not in declared]
    for name, old in existing.items():
        new = declared.get(name)
        if new and normalize_pg_type(old) != new and not compatible_change(old, new):
            problems.append(f"column {name} changes type from {old} to {new}")
    return problems


def _narrower_than_actual(table: Table, actual: dict[str, str]) -> list[str]:
    problems = []
    for column in table.columns:
        found = actual.get(column.name)
        if found is None:
            problems.append(f"column {column.name} is declared but not in the database table")
        elif _readable(found) and not holds_values_of(column.data_type, found):
            problems.append(
                f"column {column.name} is {found} in the database but declared {normalize_pg_type(column.data_type)}"
                " (values that do not fit would be read as NULL)"
            )
    return problems


def _readable(pg_type: str) -> bool:
    try:
        parse_pg_type(pg_type)
        return True
    except WarehouseError:
        return False


def _evolution(table: Table, existing: dict[str, str]) -> list[tuple[str, sql.Composed]]:
    """The ALTERs that bring an existing table to its declaration (new columns, widened types)."""
    target = pg(table.schema, table.name)
    steps = []
    for column in table.columns:
        declared = normalize_pg_type(column.data_type)
        if column.name not in existing:
            add = sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(target, pg(column.name), sql.SQL(declared))
            steps.append((f"added {column.name}", add))
        elif normalize_pg_type(existing[column.name]) != declared:
            alter = sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE {}").format(target, pg(column.name), sql.SQL(declared))
            steps.append((f"widened {column.name} to {declared}", alter))
    return steps


def _trigger_function_name(table: Table) -> sql.Identifier:
    return pg(table.schema, f"{table.name}__wh_stream_delete")


def stream_application_name(model_name: str, stream: str) -> str:
    """How a partial-update stream's JDBC connection introduces itself to the delete trigger."""
    return f"wh.{model_name}.{stream}"


def _delete_trigger_function(table: Table, streams: dict[str, list[str]]) -> sql.Composed:
    branches = [_stream_branch(table, name, columns, streams) for name, columns in streams.items()]
    body = sql.SQL(
        "DECLARE caller text := current_setting('application_name', true);\nBEGIN\n{}\n"
        "  RETURN OLD;  -- deletes by anyone else remove the row\nEND"
    ).format(sql.SQL("\n").join(branches))
    return sql.SQL("CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}").format(
        _trigger_function_name(table), sql.Literal(body.as_string(None))
    )


def _stream_branch(table: Table, stream: str, columns: list[str], streams: dict[str, list[str]]) -> sql.Composed:
    """For a delete from `stream`: when other streams still hold values, clear only its columns."""
    own = [c for c in columns if c not in table.primary_key]
    others = [c for name, cols in streams.items() if name != stream for c in cols if c not in table.primary_key]
    others_hold_values = _any_not_null(others)
    clear = sql.SQL(", ").join(sql.SQL("{} = NULL").format(pg(c)) for c in own)
    match_key = sql.SQL(" AND ").join(sql.SQL("{} = OLD.{}").format(pg(k), pg(k)) for k in table.primary_key)
    return sql.SQL(
        "  IF caller = {} AND ({}) THEN\n    UPDATE {} SET {} WHERE {};\n    RETURN NULL;\n  END IF;"
    ).format(
        sql.Literal(stream_application_name(table.name, stream)),
        others_hold_values,
        pg(table.schema, table.name),
        clear,
        match_key,
    )


def _any_not_null(columns: list[str]) -> sql.Composable:
    if not columns:
        return sql.SQL("false")
    return sql.SQL(" OR ").join(sql.SQL("OLD.{} IS NOT NULL").format(pg(c)) for c in columns)


def _entry(conn: psycopg.Connection[Any], model: Model) -> CatalogEntry:
    table = model.table
    exists = bool(_existing_columns(conn, table))
    rows = 0
    if exists:
        found = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(pg(table.schema, table.name))).fetchone()
        rows = int(found[0]) if found else 0
    binlog = f"on ({model.settings.binlog.retention})" if model.settings.binlog.enabled else "off"
    return CatalogEntry(
        table.qualified, model.path, model.settings.orientation, binlog, list(table.primary_key), rows, exists
    )


SKIP_UNCHANGED = "zz_wh_skip_unchanged"  # fires after every other BEFORE UPDATE trigger (they fire by name)
KEEP_UNCHANGED = "warehouse.keep_unchanged"  # `SET LOCAL ... = 'on'`: an UPDATE that must reach the binlog


def _skip_unchanged_updates(conn: psycopg.Connection[Any], table: Table) -> None:
    """An upsert that changes nothing writes nothing: no WAL, and no change in the binlog for its readers.
    A job restarted clean upserts every row it recomputes in place; without this each would reach the readers
    of the table's binlog as an update (for a window over it: a late change)."""
    target = pg(table.schema, table.name)
    exists = (
        "SELECT 1 FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND t.tgname = %s"
    )
    if conn.execute(exists, [table.schema, table.name, SKIP_UNCHANGED]).fetchone():
        return
    conn.execute(
        sql.SQL(
            "CREATE TRIGGER {} BEFORE UPDATE ON {} FOR EACH ROW WHEN (current_setting({}, true) IS DISTINCT FROM "
            "'on') EXECUTE FUNCTION suppress_redundant_updates_trigger()"
        ).format(pg(SKIP_UNCHANGED), target, sql.Literal(KEEP_UNCHANGED))
    )
