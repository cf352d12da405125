"""A readable difference between what a unit test expects and what the model produced ("" when they agree).

Final table: rows are matched by primary key and reported as missing, extra or changed (column by column).
Changelog: the changes of each key are compared in order (Flink keeps the order of one key's changes, while
changes of different keys, e.g. from different inputs, may interleave), shown as a diff per key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from warehouse.modeltests.expectations import Expectation
from warehouse.modeltests.fixtures import OP_KEY, STREAM_KEY
from warehouse.modeltests.fold import Emitted
from warehouse.modeltests.inputs import Key, Row
from warehouse.modeltests.values import shown

INDENT = "  "


def table_diff(model: str, expectation: Expectation, actual: dict[Key, Row]) -> str:
    wanted = expectation.by_key
    columns = [c for c in expectation.columns if c not in expectation.key]
    missing = [key for key in wanted if key not in actual]
    extra = sorted((key for key in actual if key not in wanted), key=lambda key: [shown(v) for v in key])
    changed = [key for key in wanted if key in actual and _differs(wanted[key], actual[key], columns)]
    if not (missing or extra or changed):
        return ""
    counts = f"{len(missing)} missing, {len(extra)} extra, {len(changed)} changed"
    lines = [f"final table of {model} differs: {counts} (expected {len(wanted)} rows, got {len(actual)})"]
    lines += [f"{INDENT}missing {_key(expectation, key)}: {_values(wanted[key], columns)}" for key in missing]
    lines += [f"{INDENT}extra   {_key(expectation, key)}: {_values(actual[key], columns)}" for key in extra]
    for key in changed:
        lines.append(f"{INDENT}changed {_key(expectation, key)}")
        lines += _column_changes(wanted[key], actual[key], columns)
    return "\n".join(lines)


def _differs(wanted: Row, actual: Row, columns: Sequence[str]) -> bool:
    return any(wanted.get(column) != actual.get(column) for column in columns)


def _column_changes(wanted: Row, actual: Row, columns: Sequence[str]) -> list[str]:
    differing = [c for c in columns if wanted.get(c) != actual.get(c)]
    width = max(len(c) for c in differing)
    expected = {c: shown(wanted.get(c)) for c in differing}
    value_width = max(len(text) for text in expected.values())
    return [
        f"{INDENT * 3}{c:<{width}}  expected {expected[c]:<{value_width}}  got {shown(actual.get(c))}"
        for c in differing
    ]


def changelog_diff(model: str, expectation: Expectation, actual: Sequence[Emitted]) -> str:
    entry = _EntryText(expectation)
    wanted = _by_key(entry.of(row, row[OP_KEY], row.get(STREAM_KEY)) for row in expectation.rows)
    got = _by_key(entry.of(change.row, change.op, change.stream) for change in actual)
    keys = [*wanted, *(key for key in got if key not in wanted)]
    differing = [key for key in keys if wanted.get(key, []) != got.get(key, [])]
    if not differing:
        return ""
    lines = [f"changelog of {model} differs for {len(differing)} of {len(keys)} key(s) (- expected, + got)"]
    for key in differing:
        lines.append(f"{INDENT}{_key(expectation, key)}")
        lines += [f"{INDENT * 2}{line}" for line in _line_diff(wanted.get(key, []), got.get(key, []))]
    return "\n".join(lines)


class _EntryText:
    """One change as a line: `+U [stream] column=value, ...` (the stream only when the expectation names one)."""

    def __init__(self, expectation: Expectation) -> None:
        self.key = expectation.key
        self.columns = [c for c in expectation.columns if c not in expectation.key]
        self.with_stream = any(STREAM_KEY in row for row in expectation.rows)

    def of(self, row: Row, op: str, stream: str | None) -> tuple[Key, str]:
        tag = f"[{stream}] " if self.with_stream and stream else ""
        return tuple(row.get(c) for c in self.key), f"{op} {tag}{_values(row, self.columns)}"


def _by_key(entries: Iterable[tuple[Key, str]]) -> dict[Key, list[str]]:
    grouped: dict[Key, list[str]] = {}
    for key, text in entries:
        grouped.setdefault(key, []).append(text)
    return grouped


def _line_diff(wanted: list[str], got: list[str]) -> list[str]:
    matcher = difflib.SequenceMatcher(a=wanted, b=got, autojunk=False)
    lines = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            lines += [f"  {line}" for line in wanted[a_start:a_end]]
        else:
            lines += [f"- {line}" for line in wanted[a_start:a_end]]
            lines += [f"+ {line}" for line in got[b_start:b_end]]
    return lines


def _key(expectation: Expectation, key: Key) -> str:
    return "(" + ", ".join(f"{column}={shown(value)}" for column, value in zip(expectation.key, key, strict=True)) + ")"


def _values(row: Row, columns: Sequence[str]) -> str:
    return ", ".join(f"{column}={shown(row.get(column))}" for column in columns) or "(key only)"
