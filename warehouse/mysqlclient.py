"""The warehouse's client connection to a MySQL-compatible server (the sources' server, embedded or remote)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from warehouse.config import MySqlConnection
from warehouse.errors import ServiceUnavailable

if TYPE_CHECKING:
    import pymysql.connections


def connect_mysql(login: MySqlConnection, database: str | None = None) -> pymysql.connections.Connection:
    """A connection in autocommit and utf8mb4. Several statements per execute are allowed: setup scripts run
    whole (their errors surface as the results are read)."""
    import pymysql
    from pymysql.constants import CLIENT

    try:
        return pymysql.connect(
            host=login.host,
            port=login.port,
            user=login.user,
            password=login.password.get_secret_value(),
            database=database,
            autocommit=True,
            charset="utf8mb4",
            connect_timeout=10,
            client_flag=CLIENT.MULTI_STATEMENTS,
        )
    except pymysql.MySQLError as exc:
        where = f"{login.host}:{login.port}"
        raise ServiceUnavailable(f"cannot log in to MySQL as {login.user}: {exc}", where=where) from None
