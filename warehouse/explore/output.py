"""Writing explored rows: a terminal table, CSV, JSON lines or Parquet (batch); one line per change (stream)."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TextIO

from warehouse.errors import WarehouseError

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("table", "csv", "jsonl", "parquet")
MAX_WIDTH = 40


def write_batch(table: pa.Table, fmt: str, text: TextIO, binary: BinaryIO | None, path: Path | None) -> None:
    import pyarrow.csv as pa_csv  # pyarrow's import costs half a second: only a batch read pays it
    import pyarrow.parquet as pq

    if fmt == "parquet":
        if path is None:
            raise WarehouseError("Parquet needs a file", hint="add --output rows.parquet")
        pq.write_table(table, path)
    elif fmt == "csv":
        pa_csv.write_csv(table, path or _require(binary))
    elif fmt == "jsonl":
        lines = (json_line(row) for row in table.to_pylist())
        _write_lines(lines, text, path)
    else:
        _write_lines(terminal_table(table.column_names, table.to_pylist()), text, path)


def json_line(record: dict[str, Any]) -> str:
    return json.dumps(record, default=_json_value, ensure_ascii=False)


def terminal_table(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    cells = [[_cell(row[c]) for c in columns] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    line = "+".join("-" * (w + 2) for w in widths)
    header = "|".join(f" {c:<{w}} " for c, w in zip(columns, widths, strict=True))
    body = ["|".join(f" {v:<{w}} " for v, w in zip(r, widths, strict=True)) for r in cells]
    return [header, line, *body, f"({len(rows)} row{'s' if len(rows) != 1 else ''})"]


def change_line(record: dict[str, Any], columns: Sequence[str]) -> str:
    """One change for the terminal: the binlog metadata first, then the row."""
    return "  ".join(f"{name}={_cell(record.get(name))}" for name in columns)


def _write_lines(lines: Iterable[str], text: TextIO, path: Path | None) -> None:
    if path is None:
        for line in lines:
            text.write(line + "\n")
        return
    with path.open("w") as handle:
        for line in lines:
            handle.write(line + "\n")


def _require(binary: BinaryIO | None) -> BinaryIO:
    if binary is None:
        raise WarehouseError("no binary output available", hint="add --output FILE")
    return binary


def _cell(value: Any) -> str:
    text = "NULL" if value is None else str(_json_value(value))
    return text if len(text) <= MAX_WIDTH else text[: MAX_WIDTH - 1] + "…"


def _json_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)
