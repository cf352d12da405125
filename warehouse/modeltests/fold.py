"""What the model emitted (the changelog of its streams) and the final table its sink would hold.

The final table follows the sink: each stream upserts its own columns by primary key; a retraction (-U/-D)
removes the version it names, so the key keeps its previous version if one is left (as Flink's upsert
materializer does) and disappears from that stream when none is. A `partial_update` model merges its streams'
columns by key, and a key exists while any stream holds a row for it (the store's delete trigger). Rows with
a NULL in the primary key go to the rejected-rows table, not the final table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.compiler import CompiledJob
from warehouse.gateway import Row as ResultRow
from warehouse.modeltests.inputs import Key, Row, column_types, key_of
from warehouse.modeltests.values import typed

KINDS = {"INSERT": "+I", "UPDATE_BEFORE": "-U", "UPDATE_AFTER": "+U", "DELETE": "-D"}
ADDITIONS = ("+I", "+U")


@dataclass(frozen=True)
class Emitted:
    op: str  # +I -U +U -D
    stream: str
    row: Row  # every column of the model's table, typed; NULL where the stream writes none


def emitted(rows: Sequence[ResultRow], plan: CompiledJob) -> list[Emitted]:
    """The query's result rows (stream name first, then the table's columns) as typed changes."""
    types = column_types(plan.model.table)
    changes = []
    for result in rows:
        stream, *values = result.fields
        row = {name: typed(value, type_) for (name, type_), value in zip(types.items(), values, strict=True)}
        changes.append(Emitted(KINDS[result.kind], str(stream), row))
    return changes


def final_table(changes: Sequence[Emitted], plan: CompiledJob) -> dict[Key, Row]:
    table = plan.model.table
    owned = {stream.name: [*table.primary_key, *stream.columns] for stream in plan.streams}
    versions: dict[tuple[str, Key], list[Row]] = {}
    for change in changes:
        key = key_of(table, change.row)
        if None in key:
            continue
        version = {column: change.row[column] for column in owned[change.stream]}
        kept = versions.setdefault((change.stream, key), [])
        if change.op in ADDITIONS:
            kept.append(version)
        elif version in kept:
            del kept[len(kept) - 1 - kept[::-1].index(version)]
    return _merged(versions, table.column_names())


def _merged(versions: dict[tuple[str, Key], list[Row]], columns: list[str]) -> dict[Key, Row]:
    rows: dict[Key, Row] = {}
    for (_, key), kept in versions.items():
        if kept:
            rows.setdefault(key, dict.fromkeys(columns)).update(kept[-1])
    return rows
