"""The one place identifiers are quoted, for PostgreSQL and for Flink SQL."""

from __future__ import annotations

import re

from psycopg import sql

from warehouse.errors import ConfigError

SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
# PostgreSQL's reserved key words (its documentation, appendix "SQL Key Words": reserved, and reserved that can be
# a function or type): unquoted, none of them can name a column.
POSTGRES_RESERVED = frozenset(
    (  # noqa: SIM905 - a list of words, read as one
        "all analyse analyze and any array as asc asymmetric authorization binary both case cast check collate "
        "collation column concurrently constraint create cross current_catalog current_date current_role "
        "current_schema current_time current_timestamp current_user default deferrable desc distinct do else end "
        "except false fetch for foreign freeze from full grant group having ilike in initially inner intersect "
        "into is isnull join lateral leading left like limit localtime localtimestamp natural not notnull null "
        "offset on only or order outer overlaps placing primary references returning right select session_user "
        "similar some symmetric system_user table tablesample then to trailing true union unique user using "
        "variadic verbose when where window with"
    ).split()
)


def pg(*parts: str) -> sql.Identifier:
    """A (possibly qualified) PostgreSQL identifier, quoted by psycopg."""
    return sql.Identifier(*parts)


def flink(*parts: str) -> str:
    """A (possibly qualified) Flink SQL identifier in backticks."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in parts)


def mysql(*parts: str) -> str:
    """A (possibly qualified) MySQL identifier in backticks (MySQL quotes names as Flink does)."""
    return flink(*parts)


def unquotable_problem(name: str) -> str | None:
    """Why a name cannot travel unquoted through the JDBC connector (its PostgreSQL dialect quotes nothing), or
    None: it must be lower-case snake_case and not a PostgreSQL reserved word."""
    if not SAFE_NAME.match(name):
        return "must be lower-case snake_case"
    if name in POSTGRES_RESERVED:
        return "is a PostgreSQL reserved word"
    return None


def require_safe(name: str, what: str) -> str:
    """Names that travel unquoted through connectors (the JDBC sink does not quote) must be plain."""
    problem = unquotable_problem(name)
    if problem:
        raise ConfigError(
            f"{what} '{name}' {problem}",
            hint="rename it: the JDBC connector writes identifiers unquoted",
        )
    return name


def flink_string(value: str) -> str:
    """A Flink SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
