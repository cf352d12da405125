"""The one place identifiers are quoted, for PostgreSQL and for Flink SQL."""

from __future__ import annotations

import re

from psycopg import sql

from warehouse.errors import ConfigError

SAFE_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def pg(*parts: str) -> sql.Identifier:
    """A (possibly qualified) PostgreSQL identifier, quoted by psycopg."""
    return sql.Identifier(*parts)


def flink(*parts: str) -> str:
    """A (possibly qualified) Flink SQL identifier in backticks."""
    return ".".join("`" + part.replace("`", "``") + "`" for part in parts)


def require_safe(name: str, what: str) -> str:
    """Names that travel unquoted through connectors (the JDBC sink does not quote) must be plain."""
    if not SAFE_NAME.match(name):
        raise ConfigError(
            f"{what} '{name}' must be lower-case snake_case",
            hint="rename it: the JDBC connector writes identifiers unquoted",
        )
    return name


def flink_string(value: str) -> str:
    """A Flink SQL string literal."""
    return "'" + value.replace("'", "''") + "'"
