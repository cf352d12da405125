"""The mirrored models as files dbt reads: `<folder>/_sync/<source>.yml` (the source's tables with their
columns and keys, and one model per table) and `<folder>/_sync/<model>.sql` (its SELECT). Written from the
mirror's state (evolution.py); the yml is also where the next `sync` reads what was mirrored before.

A mirrored model reads its table as it is, except that a `timestamptz` column is cast to `timestamp(p)`
(in UTC: a model cannot hold timestamptz) and a column dropped at the source under `lenient` is NULL. All
mirrors of a source run as one job (`job_group: sync_<source>`), with no upsert materializer: the change log
of one key arrives in order, so the sink needs no state to apply it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from warehouse.identifiers import flink
from warehouse.project import SYNC_META
from warehouse.sync.declaration import GENERATED_FOLDER, SyncedSource
from warehouse.sync.evolution import MirroredColumn, MirroredTable
from warehouse.types import flink_type, parse_pg_type

HEADER = "# Written by `warehouse sync` from the catalog of {what}; do not edit: every sync rewrites it.\n"


def folder(project_dir: Path, source: SyncedSource) -> Path:
    return project_dir / source.spec.folder / GENERATED_FOLDER


def yml_path(project_dir: Path, source: SyncedSource) -> Path:
    return folder(project_dir, source) / f"{source.name}.yml"


def job_group(source: SyncedSource) -> str:
    return f"sync_{source.name}"


def model_type(column: MirroredColumn) -> str:
    """The model's column type: the store type, but a timestamptz as the timestamp of the same precision."""
    pg = parse_pg_type(column.store_type)
    if pg.name == "timestamp with time zone":
        return f"timestamp({pg.precision if pg.precision is not None else 6})"
    return column.store_type


def model_sql(source: SyncedSource, table: MirroredTable) -> str:
    values = [_value(column) for column in table.columns]
    key = ", ".join(repr(k) for k in table.primary_key)
    return (
        f"{{# Written by `warehouse sync`: the mirror of {source.name}.{table.name}; do not edit. #}}\n"
        f"{{{{ config(primary_key=[{key}]) }}}}\n\n"
        f"SELECT {', '.join(values)}\nFROM {{{{ source({source.name!r}, {table.name!r}) }}}}\n"
    )


def _value(column: MirroredColumn) -> str:
    name = flink(column.name)
    if not column.at_source:
        return f"CAST(NULL AS {flink_type(model_type(column))}) AS {name}"
    if model_type(column) != column.store_type:
        return f"CAST({name} AS {flink_type(model_type(column))}) AS {name}"
    return name


def yml_text(source: SyncedSource, tables: list[MirroredTable]) -> str:
    document = {
        "version": 2,
        "sources": [
            {
                "name": source.name,
                "database": source.database,
                "schema": source.schema,
                "meta": {"connector": source.connector},
                "tables": [_source_table(table) for table in tables],
            }
        ],
        "models": [_model(source, table) for table in tables],
    }
    what = f"{source.connector} database {source.database} (source {source.name}, declared in {source.where})"
    return HEADER.format(what=what) + yaml.safe_dump(document, sort_keys=False, width=120)


def _source_table(table: MirroredTable) -> dict[str, Any]:
    columns = [{"name": c.name, "data_type": c.source_type} for c in table.columns if c.at_source]
    return {"name": table.name, "meta": {"primary_key": list(table.primary_key)}, "columns": columns}


def _model(source: SyncedSource, table: MirroredTable) -> dict[str, Any]:
    dropped = {c.name: c.source_type for c in table.columns if not c.at_source}
    return {
        "name": source.spec.model_name(table.name),
        "description": f"The mirror of {source.database}.{table.name} (warehouse sync of source {source.name}).",
        "config": {
            "job_group": job_group(source),
            "upsert_materialize": "none",
            "meta": {SYNC_META: {"source": source.name, "table": table.name, "dropped": dropped}},
        },
        "columns": [{"name": c.name, "data_type": model_type(c)} for c in table.columns],
    }


def previous_tables(project_dir: Path, source: SyncedSource) -> dict[str, tuple[MirroredTable, dict[str, str]]]:
    """What the last sync mirrored: per table, its columns as the source had them (source types) and the
    columns kept after a drop (name -> source type). Empty before the first sync."""
    path = yml_path(project_dir, source)
    if not path.is_file():
        return {}
    document = yaml.safe_load(path.read_text()) or {}
    dropped = {
        model["config"]["meta"][SYNC_META]["table"]: model["config"]["meta"][SYNC_META].get("dropped") or {}
        for model in document.get("models") or []
    }
    found = {}
    for entry in document["sources"][0].get("tables") or []:
        columns = tuple(MirroredColumn(c["name"], c["data_type"], "") for c in entry.get("columns") or [])
        key = tuple(entry.get("meta", {}).get("primary_key") or [])
        found[entry["name"]] = (MirroredTable(entry["name"], columns, key), dict(dropped.get(entry["name"], {})))
    return found


def write(project_dir: Path, source: SyncedSource, tables: list[MirroredTable]) -> list[Path]:
    """Write the yml and every model's SQL (only what changed), remove the SQL of tables no longer mirrored;
    the files written or removed."""
    target = folder(project_dir, source)
    target.mkdir(parents=True, exist_ok=True)
    wanted = {yml_path(project_dir, source): yml_text(source, tables)}
    wanted |= {target / f"{source.spec.model_name(t.name)}.sql": model_sql(source, t) for t in tables}
    touched = [path for path, text in wanted.items() if _write_if_changed(path, text)]
    mine = f"the mirror of {source.name}."
    for path in target.glob("*.sql"):
        if path not in wanted and mine in path.read_text():
            path.unlink()
            touched.append(path)
    return touched


def _write_if_changed(path: Path, text: str) -> bool:
    if path.is_file() and path.read_text() == text:
        return False
    path.write_text(text)
    return True
