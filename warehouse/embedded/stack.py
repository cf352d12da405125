"""`warehouse up` / `down` for the embedded stack: PostgreSQL, JobManager, TaskManager, SQL Gateway, and MariaDB
for a project with MySQL sources (once started for a project, it belongs to the stack until its home is removed).

With a remote profile both are no-ops: the rest of the product only ever sees endpoints.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

import psycopg

from warehouse.artifacts import ensure_flink
from warehouse.config import Settings
from warehouse.embedded.flink import EmbeddedFlink, flink_components, role
from warehouse.embedded.java import Java, find_java
from warehouse.embedded.mariadb import EmbeddedMariaDB, install_mariadb
from warehouse.embedded.postgres import EmbeddedPostgres
from warehouse.embedded.processes import (
    environment,
    pid_path,
    port_open,
    port_owner,
    restart_counts,
    restarts_path,
    running,
    start_detached,
    stop,
    wait_until,
    wanted_path,
)
from warehouse.errors import FlinkError, ServiceUnavailable, StackError
from warehouse.gateway import GatewayClient
from warehouse.identifiers import mysql
from warehouse.jobmanager import JobManagerClient
from warehouse.mysqlclient import connect_mysql
from warehouse.secrets import MYSQL_PASSWORD, READER_PASSWORD, STORE_PASSWORD, ensure_secret
from warehouse.store import connect, drop_database, drop_slots, ensure_database, warehouse_slots

Progress = Callable[[str], None]
SUPERVISOR = "supervisor"
STORE_DATABASES = ("warehouse", "shop")
SETUP_FOLDER = "setup"
MYSQL_SETUP_SUFFIX = ".mysql.sql"  # setup/<database>.mysql.sql runs in the embedded MySQL server


@dataclass(frozen=True)
class ComponentState:
    name: str
    running: bool
    detail: str


class EmbeddedStack:
    def __init__(self, settings: Settings, progress: Progress, profiles_dir: Path | None = None) -> None:
        self.settings = settings
        self.profiles_dir = profiles_dir
        self.profile = settings.profile
        self.progress = progress
        self.postgres = EmbeddedPostgres(self.profile.home, self.profile.embedded.postgres_port)
        self.mariadb = EmbeddedMariaDB(self.profile.home, self.profile.embedded.mysql_port)

    # ---- up -------------------------------------------------------------------------------------
    def up(self, mysql: bool = False) -> list[ComponentState]:
        """Start what is not running (MariaDB too when `mysql`: the project has MySQL sources), then the
        supervisor that keeps it running until `down`."""
        before = self.states()
        wanted = mysql and self.profile.mysql_is_embedded and not self._uses_mariadb()
        if before and not wanted and all(state.running for state in before if state.name != SUPERVISOR):
            self.progress("the embedded stack is already running")
        else:
            self.start_missing(mysql)
        if self.profile.store_is_embedded:
            self.run_setup()
        return self.states()

    def start_missing(self, mysql: bool = False) -> list[str]:
        """Start every component that is not running (`up`, and the supervisor after a crash); their names."""
        missing = [state.name for state in self.states() if not state.running and state.name != SUPERVISOR]
        java = find_java() if self.profile.flink_is_embedded else None
        self._check_ports()
        if self.profile.store_is_embedded:
            self._up_postgres()
        if self.profile.mysql_is_embedded and (mysql or self._uses_mariadb()):
            self._up_mariadb()
        if java is not None:
            self._up_flink(java)
        return missing

    def _uses_mariadb(self) -> bool:
        return self.mariadb.data_dir.exists()

    def _up_mariadb(self) -> None:
        install_mariadb(self.progress)
        password = ensure_secret(self.profile.home, MYSQL_PASSWORD)
        if self.mariadb.pid() is None:
            self.progress(f"starting MariaDB on 127.0.0.1:{self.mariadb.port}")
        self.mariadb.start(password)

    def start_supervisor(self) -> None:
        """After `up` resumed the jobs: from now on a component that dies is started again."""
        if not self.states():
            return
        wanted_path(self.profile.home).parent.mkdir(parents=True, exist_ok=True)
        wanted_path(self.profile.home).write_text("the supervisor keeps this stack running until `warehouse down`\n")
        if running(self._pid_file(SUPERVISOR)) is None:
            restarts_path(self.profile.home).unlink(missing_ok=True)
            settings = self.settings
            command = [sys.executable, "-m", "warehouse.embedded.supervisor", str(settings.project_dir)]
            command += [settings.target, str(self.profiles_dir or "")]
            log = self.profile.home / "logs" / "supervisor.log"
            start_detached(command, env=environment(), log=log, pid_file=self._pid_file(SUPERVISOR))
            self.progress(f"started the supervisor (log {log})")

    def stop_supervisor(self) -> bool:
        """Before jobs are parked or components stopped: nothing restarts them from now on."""
        wanted_path(self.profile.home).unlink(missing_ok=True)
        return stop(self._pid_file(SUPERVISOR))

    def _up_postgres(self) -> None:
        password = ensure_secret(self.profile.home, STORE_PASSWORD)
        reader_password = ensure_secret(self.profile.home, READER_PASSWORD)
        if self.postgres.pid() is None:
            self.progress(f"starting PostgreSQL on 127.0.0.1:{self.postgres.port}")
            self.postgres.start(password)
        connection = self.profile.store_connection()
        with connect(connection, database="postgres") as conn:
            self.postgres.secure(conn, password, reader_password)
        for database in {connection.database, *STORE_DATABASES}:
            ensure_database(connection, database)

    def run_setup(self) -> None:
        """The project's setup scripts, each once, in a database of its own that it creates: setup/<database>.sql
        on the embedded store (`warehouse init` writes one for its example source), setup/<database>.mysql.sql
        on the embedded MySQL server. A script that fails leaves no database, so the next `up` runs it again;
        to run one again, drop its database."""
        folder = self.settings.project_dir / SETUP_FOLDER
        scripts = sorted(folder.glob("*.sql")) if folder.is_dir() else []
        for script in scripts:
            if script.name.endswith(MYSQL_SETUP_SUFFIX):
                self._run_mysql_setup(script)
            else:
                self._run_store_setup(script)

    def _run_store_setup(self, script: Path) -> None:
        connection = self.profile.store_connection()
        if not ensure_database(connection, script.stem):
            return
        try:
            with connect(connection, database=script.stem) as conn:
                conn.execute(script.read_text().encode())  # bytes: no parameters, several statements
        except psycopg.Error as exc:
            drop_database(connection, script.stem)
            raise _setup_failed(script, exc) from None
        self.progress(f"ran {SETUP_FOLDER}/{script.name} in the new database {script.stem}")

    def _run_mysql_setup(self, script: Path) -> None:
        import pymysql

        if not self.profile.mysql_is_embedded or self.mariadb.pid() is None:
            return
        database = script.name.removesuffix(MYSQL_SETUP_SUFFIX)
        login = self.profile.mysql_connection()
        with connect_mysql(login) as conn:
            cursor = conn.cursor()
            if cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [database]):
                return
            cursor.execute(f"CREATE DATABASE {mysql(database)}")
            try:
                cursor.execute(f"USE {mysql(database)}")
                cursor.execute(script.read_text())  # several statements: the connection allows them
                while cursor.nextset():  # each statement's error surfaces here
                    pass
            except pymysql.MySQLError as exc:
                cursor.execute(f"DROP DATABASE {mysql(database)}")
                raise _setup_failed(script, exc) from None
        self.progress(f"ran {SETUP_FOLDER}/{script.name} in the new MySQL database {database}")

    def _up_flink(self, java: Java) -> None:
        jars = ensure_flink(self.profile.jar_cache, self.profile.maven_repository, self.progress, java.executable)
        flink = EmbeddedFlink(self.settings, jars, java)
        flink.write_config()
        for component in self._flink_components():
            if running(flink.pid_file(component)) is None:
                self.progress(f"starting Flink {component}")
                flink.start(component)
                self._await_ready(component, flink)

    def _await_ready(self, component: str, flink: EmbeddedFlink) -> None:
        endpoints = self.profile.flink_endpoints()
        wanted = self._flink_components().index(component)  # the taskmanagers started before this one, and it
        checks: dict[str, Callable[[], bool]] = {
            "jobmanager": lambda: _answers(lambda: JobManagerClient(endpoints.rest_url, 5).overview()),
            "taskmanager": lambda: _taskmanagers(endpoints.rest_url) >= wanted,
            "sql-gateway": lambda: _answers(lambda: GatewayClient(endpoints.gateway_url, 5).info()),
        }

        def alive_and_ready() -> bool:
            if running(flink.pid_file(component)) is None:
                raise StackError(
                    f"Flink {component} exited during start-up; log {flink.log(component)}",
                    hint=f"read {flink.log(component)} and {flink.log(component + '.out')}",
                )
            return checks[role(component)]()

        wait_until(alive_and_ready, f"Flink {component}", 120, flink.log(component))

    def _check_ports(self) -> None:
        embedded = self.profile.embedded
        wanted = []
        if self.profile.store_is_embedded and self.postgres.pid() is None:
            wanted.append(("postgres_port", "PostgreSQL", embedded.postgres_port))
        if self.profile.mysql_is_embedded and self._uses_mariadb() and self.mariadb.pid() is None:
            wanted.append(("mysql_port", "MariaDB", embedded.mysql_port))
        if self.profile.flink_is_embedded:
            flink_ports = [
                ("rpc_port", "JobManager RPC", embedded.rpc_port),
                ("rest_port", "Flink REST", embedded.rest_port),
            ]
            if running(self._pid_file("jobmanager")) is None:
                wanted += flink_ports
            if running(self._pid_file("sql-gateway")) is None:
                wanted.append(("gateway_port", "SQL Gateway", embedded.gateway_port))
        for key, what, port in wanted:
            if port_open("127.0.0.1", port):
                raise StackError(
                    f"port {port} ({what}) is already in use by {port_owner(port)}",
                    hint=f"stop that process or set embedded.{key} to a free port in profiles.yml",
                )

    # ---- down -----------------------------------------------------------------------------------
    def down(self, keep_slots: Collection[str] | None = ()) -> list[str]:
        """Stop the supervisor, then every component; drop the warehouse's replication slots but `keep_slots`
        (those of parked jobs, which resume from them); None drops none."""
        stopped = [SUPERVISOR] if self.stop_supervisor() else []
        for component in reversed(self._flink_components()):
            if stop(self._pid_file(component)):
                stopped.append(component)
                self.progress(f"stopped Flink {component}")
        if self.postgres.pid() is not None and keep_slots is not None:
            dropped = self._drop_slots(keep_slots)
            self.progress(f"dropped {dropped} unused replication slot(s)" if dropped else "no unused slots to drop")
        if self.postgres.pid() is not None:
            self.postgres.stop()
            stopped.append("postgres")
            self.progress("stopped PostgreSQL")
        if self.mariadb.stop():
            stopped.append("mariadb")
            self.progress("stopped MariaDB")
        return stopped

    def _drop_slots(self, keep: Collection[str]) -> int:
        """Slots outlive their jobs; left behind (with no job to resume them) they pin WAL forever."""
        store = self.profile.store_connection()
        with connect(store) as conn:
            unused = [name for name, _ in warehouse_slots(conn) if name not in keep]
        return drop_slots(store, unused) if unused else 0

    # ---- state ----------------------------------------------------------------------------------
    def states(self) -> list[ComponentState]:
        states = []
        if self.profile.store_is_embedded:
            pid = self.postgres.pid()
            states.append(ComponentState("postgres", pid is not None, f"pid {pid}" if pid else "stopped"))
        if self.profile.mysql_is_embedded and self._uses_mariadb():
            pid = self.mariadb.pid()
            states.append(ComponentState("mariadb", pid is not None, f"pid {pid}" if pid else "stopped"))
        if self.profile.flink_is_embedded:
            for component in self._flink_components():
                process = running(self._pid_file(component))
                detail = f"pid {process.pid}" if process else "stopped"
                states.append(ComponentState(component, process is not None, detail))
        if states:
            states.append(self._supervisor_state())
        return states

    def _supervisor_state(self) -> ComponentState:
        process = running(self._pid_file(SUPERVISOR))
        if process is None:
            return ComponentState(SUPERVISOR, False, "stopped")
        restarts = ", ".join(f"{name} {count}" for name, count in restart_counts(self.profile.home).items())
        return ComponentState(SUPERVISOR, True, f"pid {process.pid}; restarts: {restarts or 'none'}")

    def _flink_components(self) -> list[str]:
        return flink_components(self.profile.embedded.taskmanagers)

    def _pid_file(self, component: str) -> Path:
        return pid_path(self.profile.home, component)


def _setup_failed(script: Path, exc: Exception) -> StackError:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return StackError(first, where=str(script), hint="fix the SQL and run `warehouse up` again")


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except (ServiceUnavailable, FlinkError):
        return False


def _taskmanagers(rest_url: str) -> int:
    try:
        return int(JobManagerClient(rest_url, 5).overview().get("taskmanagers", 0))
    except (ServiceUnavailable, FlinkError):
        return 0
