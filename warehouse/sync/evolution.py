"""What a change at the source does to its mirror: pure rules, one per kind of change and policy.

Lossless changes always reach the mirror: a new column (from its first row on; earlier rows are NULL in it)
and a widened type. Everything else follows the source's `schema_changes` policy, named after Flink CDC's
schema-change behaviours:

| change at the source           | evolve               | lenient (default)         | exception | ignore        |
|--------------------------------|----------------------|---------------------------|-----------|---------------|
| column added                   | added                | added                     | added     | not mirrored  |
| type widened                   | widened              | widened                   | widened   | kept          |
| type narrowed                  | narrowed (rebuild)   | kept (the wider holds it) | stops     | kept          |
| type changed otherwise         | changed (rebuild)    | stops                     | stops     | kept          |
| column dropped (or renamed)    | dropped (rebuild)    | kept, NULL from now on    | stops     | kept          |
| primary key changed            | changed (rebuild)    | stops                     | stops     | kept          |

`lenient` is the default because it never loses what the mirror holds: a dropped column keeps its history, a
narrowed type keeps the wider column, and what it cannot tolerate stops with the fix. A rename is a drop and
an add (no catalog tells them apart). "Rebuild": the mirrored table cannot change in place, so `run` asks for
`--full-refresh -s <model>` (the catalog's own rule).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from warehouse.errors import ConfigError
from warehouse.sync.declaration import Policy
from warehouse.sync.introspect import SourceColumn, SourceTable
from warehouse.types import compatible_change


@dataclass(frozen=True)
class MirroredColumn:
    name: str
    source_type: str
    store_type: str
    at_source: bool = True  # False: dropped at the source, kept by `lenient` (NULL from then on)


@dataclass(frozen=True)
class MirroredTable:
    name: str
    columns: tuple[MirroredColumn, ...]
    primary_key: tuple[str, ...]


class SchemaChangeStopped(ConfigError):
    """A change at the source the policy does not let through."""


@dataclass(frozen=True)
class Evolution:
    table: MirroredTable
    changes: tuple[str, ...]  # what changed, e.g. "added column note (json)"


StoreType = dict[str, str]  # source column -> its store type


def first_mirror(current: SourceTable, store_types: StoreType) -> Evolution:
    columns = tuple(MirroredColumn(c.name, c.source_type, store_types[c.name]) for c in current.columns)
    return Evolution(MirroredTable(current.name, columns, current.primary_key), ("mirrored",))


def evolve(
    previous: MirroredTable, current: SourceTable, store_types: StoreType, policy: Policy, where: str
) -> Evolution:
    """The mirror of `current`, given what it mirrored before; SchemaChangeStopped when the policy stops."""
    columns: list[MirroredColumn] = []
    changes: list[str] = []
    for old in previous.columns:
        now = current.column(old.name)
        kept = _kept(old, now, store_types, policy, where, changes) if now else _dropped(old, policy, where, changes)
        columns += [kept] if kept else []
    for column in current.columns:
        if not any(c.name == column.name for c in previous.columns) and policy != "ignore":
            columns.append(MirroredColumn(column.name, column.source_type, store_types[column.name]))
            changes.append(f"added column {column.name} ({column.source_type})")
    key = _key(previous, current, policy, where, changes)
    return Evolution(MirroredTable(current.name, tuple(columns), key), tuple(changes))


def _kept(
    old: MirroredColumn, now: SourceColumn, types: StoreType, policy: Policy, where: str, changes: list[str]
) -> MirroredColumn:
    new_store = types[now.name]
    if not old.at_source:
        changes.append(f"column {old.name} is back at the source")
    if new_store == old.store_type or policy == "ignore":
        return replace(old, source_type=now.source_type, at_source=True)
    described = f"column {old.name}: {old.source_type} -> {now.source_type}"
    if compatible_change(old.store_type, new_store):
        changes.append(f"widened {described}")
        return MirroredColumn(old.name, now.source_type, new_store)
    if policy == "evolve":
        changes.append(f"changed {described} (the table is rebuilt: run --full-refresh)")
        return MirroredColumn(old.name, now.source_type, new_store)
    if policy == "lenient" and compatible_change(new_store, old.store_type):
        changes.append(f"kept {old.store_type} for the narrower {described}")
        return replace(old, source_type=now.source_type)
    raise _stopped(where, f"{described} is not a widening", policy)


def _dropped(old: MirroredColumn, policy: Policy, where: str, changes: list[str]) -> MirroredColumn | None:
    if not old.at_source or policy == "ignore":
        return old
    if policy == "evolve":
        changes.append(f"dropped column {old.name} (the table is rebuilt: run --full-refresh)")
        return None
    if policy == "lenient":
        changes.append(f"kept column {old.name}, dropped at the source (NULL from now on)")
        return replace(old, at_source=False)
    raise _stopped(where, f"column {old.name} was dropped or renamed", policy)


def _key(
    previous: MirroredTable, current: SourceTable, policy: Policy, where: str, changes: list[str]
) -> tuple[str, ...]:
    if current.primary_key == previous.primary_key or policy == "ignore":
        return previous.primary_key
    described = f"primary key ({', '.join(previous.primary_key)}) -> ({', '.join(current.primary_key)})"
    if policy == "evolve":
        changes.append(f"changed {described} (the table is rebuilt: run --full-refresh)")
        return current.primary_key
    raise _stopped(where, described, policy)


def _stopped(where: str, change: str, policy: Policy) -> SchemaChangeStopped:
    return SchemaChangeStopped(
        f"{where}: {change}; schema_changes: {policy} stops here (the mirror is unchanged and keeps every row)",
        hint="change the source back, or set `schema_changes: evolve` in the source's sync block and run "
        "`warehouse run --full-refresh -s <model>`",
    )
