"""One `warehouse sync` of a source: its tables read from its catalog, each mirror evolved by the source's
policy (evolution.py), the mirrored models written (generate.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from warehouse.errors import ConfigError
from warehouse.sync.declaration import SyncedSource
from warehouse.sync.evolution import Evolution, MirroredColumn, MirroredTable, SchemaChangeStopped, evolve, first_mirror
from warehouse.sync.generate import previous_tables, write
from warehouse.sync.introspect import SourceTable


@dataclass(frozen=True)
class SyncReport:
    source: str
    tables: tuple[str, ...]  # the tables mirrored now
    models: tuple[str, ...]  # every mirror of the source (a table gone from the source keeps its mirror)
    changes: tuple[str, ...]  # "orders: added column note (json)", ...
    files: tuple[Path, ...]  # written or removed


def store_type(connector: str, source_type: str) -> str:
    """The store type of a source column (MySQL mapped by mysqltypes.py; PostgreSQL's own, normalized)."""
    if connector == "mysql":
        from warehouse.mysqltypes import pg_type

        return pg_type(source_type)
    from warehouse.types import normalize_pg_type

    return normalize_pg_type(source_type)


def mirror(project_dir: Path, source: SyncedSource, tables: list[SourceTable]) -> SyncReport:
    previous = previous_tables(project_dir, source)
    evolutions = {t.name: _evolved(source, t, previous.get(t.name)) for t in tables if source.spec.mirrors(t.name)}
    changes = [f"{name}: {change}" for name, evolution in evolutions.items() for change in evolution.changes]
    mirrored = [evolution.table for evolution in evolutions.values()]
    for name, (table, dropped) in previous.items():
        if name in evolutions:
            continue
        if not source.spec.mirrors(name):
            changes.append(f"{name}: excluded, no longer mirrored (its table stays; a whole `run` retires its job)")
            continue
        mirrored.append(_vanished(source, _with_store_types(source, table, dropped)))
        changes.append(f"{name}: gone from the source; its mirror is kept (exclude it to stop mirroring it)")
    files = write(project_dir, source, sorted(mirrored, key=lambda t: t.name))
    models = tuple(sorted(source.spec.model_name(table.name) for table in mirrored))
    return SyncReport(source.name, tuple(sorted(evolutions)), models, tuple(changes), tuple(files))


def _evolved(
    source: SyncedSource, table: SourceTable, previous: tuple[MirroredTable, dict[str, str]] | None
) -> Evolution:
    where = f"source {source.name}, table {table.name}"
    table = replace(table, primary_key=tuple(source.spec.keys.get(table.name) or table.primary_key))
    if table.problem:
        hint = "or exclude the table in the sync block"
        raise ConfigError(f"{where}: {table.problem}", where=source.where, hint=hint)
    if not table.primary_key:
        raise ConfigError(
            f"{where} has no primary key: a mirror needs one to apply updates and deletes",
            where=source.where,
            hint=f"declare one in the sync block (`keys: {{{table.name}: [column, ...]}}`) or exclude the table",
        )
    types = _store_types(source, table, where)
    if previous is None:
        return first_mirror(table, types)
    before = _with_store_types(source, *previous)
    try:
        return evolve(before, table, types, source.spec.schema_changes, where)
    except SchemaChangeStopped as exc:
        raise SchemaChangeStopped(exc.message, where=source.where, hint=exc.hint) from None


def _store_types(source: SyncedSource, table: SourceTable, where: str) -> dict[str, str]:
    types = {}
    for column in table.columns:
        try:
            types[column.name] = store_type(source.connector, column.source_type)
        except ConfigError as exc:
            message = f"{where}, column {column.name}: {exc.message}"
            raise ConfigError(message, where=source.where, hint=exc.hint) from None
    return types


def _with_store_types(source: SyncedSource, table: MirroredTable, dropped: dict[str, str]) -> MirroredTable:
    """The last mirror with its store types, and the columns kept after a drop at the source."""
    at_source = [replace(c, store_type=store_type(source.connector, c.source_type)) for c in table.columns]
    kept = [MirroredColumn(n, t, store_type(source.connector, t), at_source=False) for n, t in dropped.items()]
    return replace(table, columns=tuple(at_source + kept))


def _vanished(source: SyncedSource, table: MirroredTable) -> MirroredTable:
    if source.spec.schema_changes == "exception":
        raise SchemaChangeStopped(
            f"source {source.name}: table {table.name} is gone from the source; schema_changes: exception stops here",
            where=source.where,
            hint=f"exclude {table.name} in the sync block, or create it again at the source",
        )
    return table
