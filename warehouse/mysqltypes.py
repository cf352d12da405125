"""MySQL / MariaDB column types, as `information_schema.COLUMNS.COLUMN_TYPE` prints them, mapped to the store.

Every mapping keeps every value: the store type holds the whole range of the MySQL type, so an unsigned
integer goes one size up (`int unsigned` -> bigint, `bigint unsigned` -> numeric(20,0)) and `tinyint(1)`,
which MySQL lets hold -128..127, stays a number (`smallint`) instead of Flink CDC's boolean, which would read
2 as false. MySQL's `datetime(p)` is a wall-clock time, `timestamp(p)` an instant (stored in UTC): they become
`timestamp(p)` and `timestamptz` (a model reading a timestamptz source casts it to `timestamp(p)`, in UTC).
Types no mapping keeps (spatial types, decimals beyond Flink's 38 digits) are refused with the fix.
"""

from __future__ import annotations

import re

from warehouse.errors import ConfigError

_INTEGERS = {  # (signed, unsigned): the smallest store integer that holds every value
    "tinyint": ("smallint", "smallint"),
    "smallint": ("smallint", "integer"),
    "mediumint": ("integer", "integer"),
    "int": ("integer", "bigint"),
    "integer": ("integer", "bigint"),
    "bigint": ("bigint", "numeric(20,0)"),
}
_TEXTS = {"tinytext", "text", "mediumtext", "longtext", "enum", "set"}
_BINARIES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
_SAME = {"date": "date", "float": "real", "double": "double precision", "real": "double precision", "json": "jsonb"}
_TYPE = re.compile(r"^(?P<name>[a-z]+)(?:\((?P<args>[^)]*)\))?(?P<rest>.*)$")
FLINK_DECIMAL_DIGITS = 38


def pg_type(column_type: str) -> str:
    """The store type of a MySQL column type (e.g. `bigint(20) unsigned` -> `numeric(20,0)`); ConfigError when
    no store type keeps every value of it."""
    match = _TYPE.match(column_type.strip().lower())
    if match is None:
        raise _unsupported(column_type)
    name, args, rest = match["name"], match["args"], match["rest"]
    if name in _INTEGERS:
        return _INTEGERS[name]["unsigned" in rest]
    if name in _SAME:
        return _SAME[name]
    if name in ("decimal", "numeric"):
        return _decimal(column_type, args)
    return _sized(column_type, name, args)


def _decimal(column_type: str, args: str | None) -> str:
    precision, _, scale = (args or "10,0").partition(",")
    if int(precision) > FLINK_DECIMAL_DIGITS:
        raise ConfigError(
            f"the MySQL type {column_type} has more digits than Flink's decimals ({FLINK_DECIMAL_DIGITS})",
            hint="exclude the table from the sync, or narrow the column at the source",
        )
    return f"numeric({int(precision)},{int(scale or 0)})"


def _sized(column_type: str, name: str, args: str | None) -> str:
    if name == "datetime":
        return f"timestamp({int(args or 0)})"
    if name == "timestamp":
        return f"timestamptz({int(args or 0)})"
    if name == "time":
        return "time" if not args or args == "0" else f"time({int(args)})"
    if name in ("char", "varchar"):
        return f"{'character varying' if name == 'varchar' else 'character'}({int(args or 1)})"
    if name == "year":
        return "smallint"
    if name == "bit":
        return "boolean" if int(args or 1) == 1 else "bytea"
    if name in _TEXTS:
        return "text"
    if name in _BINARIES:
        return "bytea"
    raise _unsupported(column_type)


def _unsupported(column_type: str) -> ConfigError:
    return ConfigError(
        f"the MySQL type {column_type} has no store type that keeps its values",
        hint="exclude the table from the sync, or give the column a supported type at the source",
    )
