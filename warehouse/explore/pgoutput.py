"""Decoding PostgreSQL's logical replication protocol (pgoutput, version 1) into binlog events.

Only what a change stream needs: Begin (commit time, xid), Relation (table and column names and
types), Insert, Update (before image with REPLICA IDENTITY FULL, then after image) and Delete.
Event types follow Hologres's binlog: INSERT=5, DELETE=2, BEFORE_UPDATE=3, AFTER_UPDATE=7.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime

INSERT, DELETE, BEFORE_UPDATE, AFTER_UPDATE = 5, 2, 3, 7
POSTGRES_EPOCH_US = int(datetime(2000, 1, 1, tzinfo=UTC).timestamp()) * 1_000_000


class ProtocolError(ValueError):
    """A pgoutput message this decoder does not understand."""


@dataclass(frozen=True)
class Relation:
    relid: int
    schema: str
    name: str
    columns: tuple[str, ...]
    type_oids: tuple[int, ...]


@dataclass(frozen=True)
class RawEvent:
    """One row image: the event type, the relation, its values as text (None = NULL)."""

    event_type: int
    relation: Relation
    values: tuple[str | None, ...]
    xid: int
    commit_time_us: int


@dataclass
class Decoder:
    """Feed it pgoutput messages in order; it yields row events and remembers relations."""

    relations: dict[int, Relation] = field(default_factory=dict)
    xid: int = 0
    commit_time_us: int = 0

    def decode(self, message: bytes) -> list[RawEvent]:
        kind = message[:1]
        reader = _Reader(message, 1)
        if kind == b"B":
            reader.int64()  # final LSN of the transaction
            self.commit_time_us = POSTGRES_EPOCH_US + reader.int64()
            self.xid = reader.int32()
            return []
        if kind == b"R":
            relation = _relation(reader)
            self.relations[relation.relid] = relation
            return []
        if kind in (b"I", b"U", b"D"):
            return self._row_events(kind, reader)
        if kind in (b"C", b"Y", b"O", b"T", b"M"):
            return []  # commit, type, origin, truncate, message: nothing to show per row
        raise ProtocolError(f"unknown pgoutput message {kind!r}")

    def _row_events(self, kind: bytes, reader: _Reader) -> list[RawEvent]:
        relation = self.relations[reader.int32()]
        images: list[tuple[int, tuple[str | None, ...]]] = []
        while not reader.done():
            tag = reader.byte()
            values = _tuple(reader)
            images.append((_event_type(kind, tag), values))
        return [RawEvent(kind_, relation, values, self.xid, self.commit_time_us) for kind_, values in images]


def _event_type(kind: bytes, tag: bytes) -> int:
    if kind == b"I":
        return INSERT
    if kind == b"D":
        return DELETE
    return AFTER_UPDATE if tag == b"N" else BEFORE_UPDATE


def _relation(reader: _Reader) -> Relation:
    relid = reader.int32()
    schema, name = reader.string(), reader.string()
    reader.byte()  # replica identity setting
    columns, types = [], []
    for _ in range(reader.int16()):
        reader.byte()  # flags (part of the key)
        columns.append(reader.string())
        types.append(reader.int32())
        reader.int32()  # type modifier
    return Relation(relid, schema, name, tuple(columns), tuple(types))


def _tuple(reader: _Reader) -> tuple[str | None, ...]:
    values: list[str | None] = []
    for _ in range(reader.int16()):
        kind = reader.byte()
        if kind == b"t":
            values.append(reader.take(reader.int32()).decode())
        elif kind in (b"n", b"u"):
            values.append(None)  # NULL, or an unchanged TOASTed value (never with REPLICA IDENTITY FULL)
        else:
            raise ProtocolError(f"unknown tuple value kind {kind!r}")
    return tuple(values)


class _Reader:
    def __init__(self, data: bytes, offset: int = 0) -> None:
        self.data = data
        self.offset = offset

    def done(self) -> bool:
        return self.offset >= len(self.data)

    def take(self, count: int) -> bytes:
        chunk = self.data[self.offset : self.offset + count]
        if len(chunk) != count:
            raise ProtocolError("truncated pgoutput message")
        self.offset += count
        return chunk

    def byte(self) -> bytes:
        return self.take(1)

    def int16(self) -> int:
        return int(struct.unpack(">h", self.take(2))[0])

    def int32(self) -> int:
        return int(struct.unpack(">I", self.take(4))[0])

    def int64(self) -> int:
        return int(struct.unpack(">q", self.take(8))[0])

    def string(self) -> str:
        end = self.data.index(b"\0", self.offset)
        text = self.data[self.offset : end].decode()
        self.offset = end + 1
        return text
