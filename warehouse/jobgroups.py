"""Job groups: which models run together as one Flink job, so each change log is decoded once per group.

A pure rule over what each model reads as a stream (an OLTP table's CDC log, or a model's binlog):

- **fused read**: a model that reads a `continuous` model without a watermark joins that model's group and
  reads its query directly (a view over the same sources) instead of its binlog;
- **shared read**: models that read the same change log join one group, which declares that log's reader
  once (Flink reuses one source for every statement of a statement set that scans it);
- a `partial_update` model's merged row exists only in the store and a watermarked table's event time is
  held at its binlog reader, so their readers read the binlog: a group boundary;
- `job_group: NAME` in a model's config takes the model out of the automatic rule: the models naming the
  same group run together (reads inside it are still fused where the rule allows), the others as above.

Groups are the connected components of those links. An automatic group is named after its first member
in dependency order, so a model that runs alone keeps its own name as its job's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from warehouse.errors import WarehouseError


@dataclass(frozen=True)
class Member:
    """What the grouping rule knows of one model (given in dependency order, upstream first)."""

    name: str
    reads: tuple[str, ...]  # the change logs it reads as streams: table keys `database.schema.table`
    table: str  # its own table's key
    fusable: bool  # continuous and without a watermark: a reader in its group may read its query directly
    group: str | None = None  # `job_group` from its config


def group_models(members: Sequence[Member]) -> dict[str, list[str]]:
    """Job name -> its models, in dependency order; jobs in the order of their first member."""
    links = _Links([m.name for m in members])
    by_table = {m.table: m for m in members}
    first_reader: dict[str, str] = {}
    for member in (m for m in members if m.group is None):
        for read in member.reads:
            upstream = by_table.get(read)
            if upstream is not None and upstream.fusable and upstream.group is None:
                links.join(upstream.name, member.name)
            links.join(first_reader.setdefault(read, member.name), member.name)
    explicit: dict[str, str] = {}
    for member in members:
        if member.group is not None:
            links.join(explicit.setdefault(member.group, member.name), member.name)
    return _named(links.components(), {m.name: m.group for m in members if m.group is not None})


def fused_reads(member: Member, job: Sequence[Member]) -> list[str]:
    """The tables `member` reads by their query (members of its job it may fuse with), not their binlog."""
    fusable = {m.table for m in job if m.fusable}
    return [read for read in member.reads if read in fusable]


class _Links:
    """Union-find over model names; components keep the order the names were given in."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.parent = {name: name for name in names}

    def root(self, name: str) -> str:
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def join(self, first: str, second: str) -> None:
        self.parent[self.root(second)] = self.root(first)

    def components(self) -> list[list[str]]:
        found: dict[str, list[str]] = {}
        for name in self.names:
            found.setdefault(self.root(name), []).append(name)
        return list(found.values())


def _named(components: list[list[str]], explicit: dict[str, str]) -> dict[str, list[str]]:
    jobs: dict[str, list[str]] = {}
    for names in components:
        name = explicit.get(names[0]) or names[0]
        if name in jobs:
            raise WarehouseError(
                f"job group '{name}' is also the name of another job (an automatic job is named after its first model)",
                hint=f"choose a job_group other than '{name}'",
            )
        jobs[name] = names
    return jobs
