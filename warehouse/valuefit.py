"""Whether a value fits the column it is written to, as Flink SQL conditions (pure rules, table-tested).

Flink turns what does not fit into something else without a word: a DECIMAL that overflows its precision
becomes NULL, a BIGINT cast to INT wraps around. So every stream's rows are split before its sink: rows
whose every column fits go to the table, the others to `_warehouse.rejected_rows` with the reason (like a
row whose primary key is NULL). "Fits" means representable in the column's declared type: a numeric within
its precision, an integer within its range, a string within its length. Digits beyond a numeric's scale
are rounded, as PostgreSQL itself does on INSERT.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warehouse.identifiers import flink, flink_string
from warehouse.types import PgType, flink_type, parse_pg_type

INTEGER_RANGES = {"smallint": (-32_768, 32_767), "integer": (-2_147_483_648, 2_147_483_647)}
LENGTH_BOUND = ("character varying", "character")


@dataclass(frozen=True)
class FitCheck:
    column: str
    condition: str  # true when the value fits (or is NULL)
    reason: str  # what the rejected row's `reason` says


def fit_check(column: str, pg_type: str) -> FitCheck | None:
    """The condition a value of `column` must meet to be written to a `pg_type` column; None if any value fits."""
    pg = parse_pg_type(pg_type)
    value = flink(column)
    test = _condition(value, pg_type, pg)
    if test is None:
        return None
    return FitCheck(column, f"({value} IS NULL OR {test})", f"{column}: value does not fit {pg}")


def _condition(value: str, pg_type: str, pg: PgType) -> str | None:
    if pg.array:
        return None
    if pg.name == "numeric":
        return f"CAST({value} AS {flink_type(pg_type)}) IS NOT NULL"
    if pg.name in INTEGER_RANGES:
        low, high = INTEGER_RANGES[pg.name]
        return f"{value} BETWEEN {low} AND {high}"
    if pg.name in LENGTH_BOUND and pg.precision is not None:
        return f"CHAR_LENGTH({value}) <= {pg.precision}"
    return None


def fits_all(checks: list[FitCheck]) -> str:
    return " AND ".join(check.condition for check in checks) or "TRUE"


def rejected(writable: str, key_column: str) -> str:
    """The filter of a stream's rejected rows: those that are not `writable`.

    It must never be something Flink's planner can prove false. A branch proven empty becomes a bounded
    `Values` source whose task finishes at once, and Flink 1.20 takes a failed task of a job with a finished
    task for a finished one (FLINK-40482): a checkpoint taken while the failed task waits to restart records
    its source as done, restoring from it never restarts the source, and that stream's changes are lost.
    So the filter carries a term that is never true but opaque to the planner: a length below zero.
    """
    return f"NOT ({writable}) OR CHAR_LENGTH(CAST({flink(key_column)} AS STRING)) < 0"


def rejection_reason(key_present: str, key_reason: str, checks: list[FitCheck]) -> str:
    """A CASE naming the first rule a rejected row breaks (deterministic: a retraction reproduces its row)."""
    branches = [f"WHEN NOT ({key_present}) THEN {flink_string(key_reason)}"]
    branches += [f"WHEN NOT {check.condition} THEN {flink_string(check.reason)}" for check in checks]
    return "CASE " + " ".join(branches) + " END"


FLINK_TYPE = re.compile(r"^(?P<name>[A-Z_]+(?: [A-Z_]+)*)(?:\((?P<args>[\d, ]+)\))?")
WHOLE_NUMBERS = {"TINYINT": 3, "SMALLINT": 5, "INT": 10, "INTEGER": 10, "BIGINT": 19}
INTEGER_DIGITS = {"smallint": 5, "integer": 10, "bigint": 19}
TEXT_TYPES = ("STRING", "VARCHAR", "CHAR")


def narrowing(stream_type: str, pg_type: str) -> str | None:
    """Why values of a stream column (Flink's type, as DESCRIBE prints it) may not fit a `pg_type` column, or
    None when every value fits. What does not fit is rejected at run time; `check` warns about it (WH007)."""
    name, args = _flink_type(stream_type)
    pg = parse_pg_type(pg_type)
    if pg.array:
        return None
    if pg.name == "numeric":
        return _narrower_decimal(stream_type, pg_type)
    if pg.name in INTEGER_DIGITS:
        digits = _whole_digits(name, args)
        return f"{stream_type} may exceed {pg}" if digits is None or digits > INTEGER_DIGITS[pg.name] else None
    if pg.name in LENGTH_BOUND and pg.precision is not None and name in TEXT_TYPES:
        length = args[0] if name != "STRING" and args else None
        return None if length is not None and length <= pg.precision else f"{stream_type} may be longer than {pg}"
    if pg.name.startswith("timestamp") and name.startswith("TIMESTAMP") and args:
        precision = 6 if pg.precision is None else pg.precision
        return f"{stream_type} keeps more fractional digits than {pg}" if args[0] > precision else None
    return None


def _flink_type(text: str) -> tuple[str, list[int]]:
    match = FLINK_TYPE.match(text.strip().upper())
    if match is None:
        return text.strip().upper(), []
    args = [int(a) for a in match["args"].split(",")] if match["args"] else []
    return match["name"], args


def _decimal(args: list[int]) -> tuple[int, int]:
    """Precision and scale of a Flink DECIMAL (DECIMAL alone is DECIMAL(10, 0))."""
    return (args[0] if args else 10), (args[1] if len(args) > 1 else 0)


def _whole_digits(name: str, args: list[int]) -> int | None:
    """How many digits left of the point a Flink numeric type holds (None: unbounded or not a number)."""
    if name in WHOLE_NUMBERS:
        return WHOLE_NUMBERS[name]
    if name == "DECIMAL":
        precision, scale = _decimal(args)
        return precision - scale
    return None


def _narrower_decimal(stream_type: str, pg_type: str) -> str | None:
    target = flink_type(pg_type)
    precision, scale = _decimal(_flink_type(target)[1])
    name, args = _flink_type(stream_type)
    digits = _whole_digits(name, args)
    if digits is None or digits > precision - scale:
        return f"{stream_type} may exceed {target}"
    if name == "DECIMAL" and _decimal(args)[1] > scale:
        return f"{stream_type} is rounded to {target}"
    return None
