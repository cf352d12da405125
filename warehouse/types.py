"""PostgreSQL column types as users write them in schema yml: canonical spelling, Flink type, safe changes.

Precision choices, where PostgreSQL and Flink differ:
- `timestamp` / `timestamptz` without a precision keep PostgreSQL's microseconds: TIMESTAMP(6) / TIMESTAMP_LTZ(6).
- `time` without a precision is TIME(0), Flink's default and the only precision its runtime converts fully.
- `numeric` without precision and scale is DECIMAL(38, 10): Flink decimals need both, 38 is Flink's maximum.
- Text types (`text`, `varchar(n)`, `char(n)`, `json`, `jsonb`, `uuid`) are all STRING; PostgreSQL enforces lengths.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from warehouse.errors import ConfigError

__all__ = [
    "PgType",
    "compatible_change",
    "flink_type",
    "holds_values_of",
    "normalize_pg_type",
    "parse_pg_type",
    "unsupported",
]

# Every spelling accepted, mapped to the name PostgreSQL's format_type() prints (modifiers aside).
_CANONICAL_NAMES = {
    "bigint": "bigint",
    "int8": "bigint",
    "bigserial": "bigint",
    "serial8": "bigint",
    "integer": "integer",
    "int": "integer",
    "int4": "integer",
    "serial": "integer",
    "serial4": "integer",
    "smallint": "smallint",
    "int2": "smallint",
    "smallserial": "smallint",
    "serial2": "smallint",
    "numeric": "numeric",
    "decimal": "numeric",
    "real": "real",
    "float4": "real",
    "double precision": "double precision",
    "float8": "double precision",
    "float": "double precision",
    "boolean": "boolean",
    "bool": "boolean",
    "text": "text",
    "character varying": "character varying",
    "varchar": "character varying",
    "character": "character",
    "char": "character",
    "bpchar": "character",
    "date": "date",
    "timestamp": "timestamp without time zone",
    "timestamp without time zone": "timestamp without time zone",
    "timestamptz": "timestamp with time zone",
    "timestamp with time zone": "timestamp with time zone",
    "time": "time without time zone",
    "time without time zone": "time without time zone",
    "bytea": "bytea",
    "json": "json",
    "jsonb": "jsonb",
    "uuid": "uuid",
}

# How many modifiers each type takes, e.g. numeric(12,2) has two; types not listed take none.
_MODIFIER_COUNTS = {
    "numeric": (0, 1, 2),
    "character varying": (0, 1),
    "character": (0, 1),
    "timestamp without time zone": (0, 1),
    "timestamp with time zone": (0, 1),
    "time without time zone": (0, 1),
}

_TEMPORAL_FLINK_TYPES = {  # name -> (Flink type, precision when none is written)
    "timestamp without time zone": ("TIMESTAMP", 6),
    "timestamp with time zone": ("TIMESTAMP_LTZ", 6),
    "time without time zone": ("TIME", 0),
}

_PLAIN_FLINK_TYPES = {
    "bigint": "BIGINT",
    "integer": "INT",
    "smallint": "SMALLINT",
    "real": "FLOAT",
    "double precision": "DOUBLE",
    "boolean": "BOOLEAN",
    "text": "STRING",
    "character varying": "STRING",
    "character": "STRING",
    "date": "DATE",
    "bytea": "BYTES",
    "json": "STRING",
    "jsonb": "STRING",
    "uuid": "STRING",
}

_INTEGER_WIDTHS = {"smallint": 2, "integer": 4, "bigint": 8}
_FLINK_MAX_DECIMAL_PRECISION = 38
_MAX_TIME_PRECISION = 6

_TYPE_SYNTAX = re.compile(
    r"(?P<name>[a-z][a-z0-9_ ]*?)"
    r"(?:\((?P<modifiers>\d+(?:,\d+)?)\))?"
    r"(?: (?P<zone>with(?:out)? time zone))?"
    r"(?P<array>\[\])?"
)


@dataclass(frozen=True)
class PgType:
    """A PostgreSQL type: `name` as format_type() spells it, its modifiers, and whether it is an array."""

    name: str
    modifiers: tuple[int, ...] = ()
    array: bool = False

    def __str__(self) -> str:
        """The spelling format_type() prints, e.g. `numeric(12,2)` or `timestamp(3) without time zone`."""
        spelled = self.name
        if self.modifiers:
            head, _, zone = self.name.partition(" with")  # the precision goes before "with[out] time zone"
            arguments = ",".join(str(modifier) for modifier in self.modifiers)
            spelled = f"{head}({arguments})" + (f" with{zone}" if zone else "")
        return spelled + ("[]" if self.array else "")

    @property
    def precision(self) -> int | None:
        """The first modifier (length, precision) if one was written."""
        return self.modifiers[0] if self.modifiers else None


def parse_pg_type(pg_type: str) -> PgType:
    """Read a type as written in schema yml (any case, any spacing, aliases allowed) into its canonical form."""
    spaced = " ".join(pg_type.lower().split())
    compact = re.sub(r"\s+([)\]])", r"\1", re.sub(r"\s*([(\[,])\s*", r"\1", spaced))
    match = _TYPE_SYNTAX.fullmatch(compact)
    written_name = " ".join(filter(None, [match["name"], match["zone"]])) if match else ""
    if not match or written_name not in _CANONICAL_NAMES:
        raise ConfigError(
            f"unsupported PostgreSQL column type '{pg_type}'",
            hint=f"use one of: {', '.join(sorted(_CANONICAL_NAMES))} (with (n) / (p,s) where the type takes them)",
        )
    modifiers = tuple(int(value) for value in match["modifiers"].split(",")) if match["modifiers"] else ()
    if written_name == "float":
        return PgType(_float_name(pg_type, modifiers), array=bool(match["array"]))
    name = _CANONICAL_NAMES[written_name]
    return PgType(name, _checked_modifiers(pg_type, name, modifiers), array=bool(match["array"]))


def _float_name(pg_type: str, modifiers: tuple[int, ...]) -> str:
    """`float(p)` is real up to 24 binary digits of precision and double precision up to 53."""
    if not modifiers:
        return "double precision"
    if len(modifiers) == 1 and 1 <= modifiers[0] <= 53:
        return "real" if modifiers[0] <= 24 else "double precision"
    raise ConfigError(f"'{pg_type}': float precision must be between 1 and 53")


def _checked_modifiers(pg_type: str, name: str, modifiers: tuple[int, ...]) -> tuple[int, ...]:
    if len(modifiers) not in _MODIFIER_COUNTS.get(name, (0,)):
        raise ConfigError(f"'{pg_type}': {name} does not take {len(modifiers)} modifier(s)")
    if name == "numeric" and modifiers:
        precision, scale = modifiers[0], (modifiers[1] if len(modifiers) > 1 else 0)
        if not 1 <= precision <= 1000 or scale > precision:
            raise ConfigError(f"'{pg_type}': numeric needs 1 <= precision <= 1000 and scale <= precision")
        return precision, scale
    if name in _TEMPORAL_FLINK_TYPES and modifiers and modifiers[0] > _MAX_TIME_PRECISION:
        raise ConfigError(f"'{pg_type}': {name} precision must be between 0 and {_MAX_TIME_PRECISION}")
    if name in ("character varying", "character") and modifiers and modifiers[0] < 1:
        raise ConfigError(f"'{pg_type}': the length of {name} must be at least 1")
    return (1,) if name == "character" and not modifiers else modifiers


def normalize_pg_type(pg_type: str) -> str:
    """The canonical spelling of a type, as PostgreSQL's format_type() prints it for a column of that type.

    E.g. `int8` -> `bigint`, `decimal(18, 2)` -> `numeric(18,2)`, `timestamp(3)` -> `timestamp(3) without time
    zone`, `varchar(64)` -> `character varying(64)`, so a declared type compares equal to an existing column's.
    """
    return str(parse_pg_type(pg_type))


def flink_type(pg_type: str) -> str:
    """The Flink SQL type that holds values of the PostgreSQL type (see the module notes on precision)."""
    pg = parse_pg_type(pg_type)
    element = _flink_element_type(pg_type, pg)
    return f"ARRAY<{element}>" if pg.array else element


def _flink_element_type(pg_type: str, pg: PgType) -> str:
    if pg.name in _PLAIN_FLINK_TYPES:
        return _PLAIN_FLINK_TYPES[pg.name]
    if pg.name in _TEMPORAL_FLINK_TYPES:
        flink_name, default_precision = _TEMPORAL_FLINK_TYPES[pg.name]
        return f"{flink_name}({default_precision if pg.precision is None else pg.precision})"
    if not pg.modifiers:  # unconstrained numeric
        return "DECIMAL(38, 10)"
    precision, scale = pg.modifiers
    if precision > _FLINK_MAX_DECIMAL_PRECISION:
        raise ConfigError(
            f"'{pg_type}': Flink decimals hold at most {_FLINK_MAX_DECIMAL_PRECISION} digits",
            hint=f"declare numeric({_FLINK_MAX_DECIMAL_PRECISION},{min(scale, _FLINK_MAX_DECIMAL_PRECISION)}) or less",
        )
    return f"DECIMAL({precision}, {scale})"


@dataclass(frozen=True)
class Unsupported:
    reason: str
    fix: str


def unsupported(pg_type: str, written: bool) -> Unsupported | None:
    """Why a column of `pg_type` cannot go through a job without loss, or None. Every column is read through
    CDC (a source's, or a model's by its readers); a model's (`written`) is also written by a JDBC sink."""
    pg = parse_pg_type(pg_type)
    if pg.array:
        return Unsupported(
            "Flink CDC's PostgreSQL reader does not read ARRAY columns",
            "leave the column out of the declaration, or keep it as text (array_to_string) in the table",
        )
    if written and pg.name == "timestamp with time zone":
        return Unsupported(
            "Flink's JDBC sink cannot write TIMESTAMP_LTZ (timestamptz) values",
            "declare it `timestamp(6)` and keep the values in UTC (microseconds are kept); "
            "in the SQL, CAST a timestamptz input AS TIMESTAMP(6)",
        )
    if written and pg.name == "time without time zone" and pg.modifiers and pg.modifiers[0] > 0:
        return Unsupported(
            "Flink's JDBC sink writes TIME to the second: the fraction would be lost",
            "declare it `time` (seconds), or keep the value as a timestamp(6) or text",
        )
    return None


def compatible_change(old_pg: str, new_pg: str) -> bool:
    """Whether changing a column from `old_pg` to `new_pg` is a widening ALTER COLUMN ... TYPE applies safely.

    Safe means every old value fits unchanged and no USING clause is needed: smallint -> integer -> bigint,
    varchar(n) -> varchar(m >= n) / varchar / text, numeric(p,s) -> numeric(p2 >= p,s) / numeric, and a higher
    timestamp precision. The varchar, numeric and timestamp ones do not even rewrite the table; the integer
    ones do. The same type (in any spelling) is trivially compatible.
    """
    old, new = parse_pg_type(old_pg), parse_pg_type(new_pg)
    if old == new:
        return True
    if old.array or new.array:
        return False
    return _widens_integer(old, new) or _widens_varchar(old, new) or _widens_numeric(old, new) or _widens_time(old, new)


def holds_values_of(declared_pg: str, actual_pg: str) -> bool:
    """Whether a source column declared as `declared_pg` reads every value of a database column of `actual_pg`
    unchanged: the same type, a widening of it, or a type Flink reads the same way (text and varchar are both
    STRING). A narrower declaration would make Flink turn what does not fit into NULL (or wrap it around)."""
    if compatible_change(actual_pg, declared_pg):
        return True
    try:
        return flink_type(declared_pg) == flink_type(actual_pg)
    except ConfigError:
        return False


def _widens_integer(old: PgType, new: PgType) -> bool:
    return (
        old.name in _INTEGER_WIDTHS
        and new.name in _INTEGER_WIDTHS
        and _INTEGER_WIDTHS[new.name] > _INTEGER_WIDTHS[old.name]
    )


def _widens_varchar(old: PgType, new: PgType) -> bool:
    if old.name != "character varying":
        return False
    if new.name == "text":
        return True
    unbounded_or_longer = new.precision is None or (old.precision is not None and new.precision >= old.precision)
    return new.name == "character varying" and unbounded_or_longer


def _widens_numeric(old: PgType, new: PgType) -> bool:
    if old.name != "numeric" or new.name != "numeric" or not old.modifiers:
        return False
    return not new.modifiers or (new.modifiers[1] == old.modifiers[1] and new.modifiers[0] >= old.modifiers[0])


def _widens_time(old: PgType, new: PgType) -> bool:
    # PostgreSQL's precision limit for timestamps is 6, which is also what no precision means.
    if old.name != new.name or not old.name.startswith("timestamp"):
        return False
    old_precision = _MAX_TIME_PRECISION if old.precision is None else old.precision
    new_precision = _MAX_TIME_PRECISION if new.precision is None else new.precision
    return new_precision >= old_precision
