"""The embedded MariaDB for MySQL sources: a ROW binlog, the CDC user, restarts that keep data, no password on disk."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from pydantic import SecretStr

from tests.helpers import free_port
from warehouse.config import MySqlConnection
from warehouse.embedded.mariadb import EmbeddedMariaDB, install_mariadb
from warehouse.errors import ServiceUnavailable
from warehouse.mysqlclient import connect_mysql
from warehouse.secrets import MYSQL_USER

pytestmark = pytest.mark.integration

PASSWORD = "Maria-Sentinel-4b1e8d-never-on-disk"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedMariaDB]:
    """One server for the module (its tests run in order: the last one stops and restarts it)."""
    install_mariadb(lambda line: None)
    mariadb = EmbeddedMariaDB(tmp_path_factory.mktemp("maria") / ".warehouse", free_port())
    mariadb.start(PASSWORD)
    yield mariadb
    mariadb.stop()


def query(server: EmbeddedMariaDB, statement: str) -> list[tuple[object, ...]]:
    """Rows of one statement, run as the CDC user over TCP on 127.0.0.1."""
    login = MySqlConnection(port=server.port, user=MYSQL_USER, password=SecretStr(PASSWORD))
    with connect_mysql(login) as conn, conn.cursor() as cursor:
        cursor.execute(statement)
        return list(cursor.fetchall())


def files_containing(folder: Path, needle: bytes) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and needle in path.read_bytes()]


def test_binlog_is_on_in_row_format(server: EmbeddedMariaDB) -> None:
    names = "('log_bin', 'binlog_format', 'binlog_row_image', 'server_id', 'bind_address')"
    variables = {
        str(name): str(value) for name, value in query(server, f"SHOW VARIABLES WHERE Variable_name IN {names}")
    }
    assert variables == {
        "log_bin": "ON",
        "binlog_format": "ROW",
        "binlog_row_image": "FULL",
        "server_id": "1",
        "bind_address": "127.0.0.1",
    }


def test_cdc_user_logs_in_over_tcp_and_may_replicate(server: EmbeddedMariaDB) -> None:
    grants = " ".join(str(row[0]) for row in query(server, "SHOW GRANTS"))
    assert f"`{MYSQL_USER}`@`127.0.0.1`" in grants
    assert "REPLICATION SLAVE" in grants
    assert "SELECT" in grants and "RELOAD" in grants and "SHOW DATABASES" in grants


def test_wrong_password_is_refused(server: EmbeddedMariaDB) -> None:
    with pytest.raises(ServiceUnavailable, match="Access denied"):
        connect_mysql(MySqlConnection(port=server.port, user=MYSQL_USER, password=SecretStr("not-the-password")))


def test_second_start_is_a_no_op_while_running(server: EmbeddedMariaDB) -> None:
    pid = server.pid()
    assert pid is not None
    server.start(PASSWORD)
    assert server.pid() == pid
    assert [p for p in psutil.process_iter(["cmdline"]) if f"--datadir={server.data_dir}" in (p.info["cmdline"] or [])]


def test_stop_then_restart_keeps_the_data(server: EmbeddedMariaDB) -> None:
    query(server, "CREATE DATABASE kept")
    query(server, "CREATE TABLE kept.orders (id INT PRIMARY KEY, note VARCHAR(20))")
    query(server, "INSERT INTO kept.orders VALUES (1, 'before stop')")
    pid = server.pid()
    assert pid is not None
    assert server.stop()
    assert server.pid() is None
    assert not psutil.pid_exists(pid)
    assert not server.stop()
    server.start(PASSWORD)
    assert server.pid() not in (None, pid)
    assert query(server, "SELECT id, note FROM kept.orders") == [(1, "before stop")]


def test_password_is_on_no_disk(server: EmbeddedMariaDB) -> None:
    """No file under the test's folder holds the password, and the binlog holds no user management."""
    assert files_containing(server.home.parent, PASSWORD.encode()) == []
    binlogs = list(server.data_dir.glob("binlog.0*"))
    assert binlogs
    assert [path for path in binlogs if MYSQL_USER.encode() in path.read_bytes()] == []
