"""`warehouse up` / `down` for the embedded stack: PostgreSQL, JobManager, TaskManager, SQL Gateway.

With a remote profile both are no-ops: the rest of the product only ever sees endpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from warehouse.artifacts import ensure_flink
from warehouse.config import Settings
from warehouse.embedded.flink import EmbeddedFlink
from warehouse.embedded.java import Java, find_java
from warehouse.embedded.postgres import EmbeddedPostgres
from warehouse.embedded.processes import pid_path, port_open, port_owner, running, stop, wait_until
from warehouse.errors import FlinkError, ServiceUnavailable, StackError
from warehouse.gateway import GatewayClient
from warehouse.jobmanager import JobManagerClient
from warehouse.store import drop_slots, ensure_database

Progress = Callable[[str], None]
FLINK_COMPONENTS = ("jobmanager", "taskmanager", "sql-gateway")
STORE_DATABASES = ("warehouse", "shop")


@dataclass(frozen=True)
class ComponentState:
    name: str
    running: bool
    detail: str


class EmbeddedStack:
    def __init__(self, settings: Settings, progress: Progress) -> None:
        self.settings = settings
        self.profile = settings.profile
        self.progress = progress
        self.postgres = EmbeddedPostgres(self.profile.home, self.profile.embedded.postgres_port)

    # ---- up -------------------------------------------------------------------------------------
    def up(self) -> list[ComponentState]:
        before = self.states()
        if before and all(state.running for state in before):
            self.progress("the embedded stack is already running")
            return before
        java = find_java() if self.profile.flink_is_embedded else None
        self._check_ports()
        if self.profile.store_is_embedded:
            self._up_postgres()
        if java is not None:
            self._up_flink(java)
        return self.states()

    def _up_postgres(self) -> None:
        if self.postgres.pid() is None:
            self.progress(f"starting PostgreSQL on 127.0.0.1:{self.postgres.port}")
            self.postgres.start()
        connection = self.profile.store_connection()
        for database in {connection.database, *STORE_DATABASES}:
            ensure_database(connection, database)

    def _up_flink(self, java: Java) -> None:
        jars = ensure_flink(self.profile.jar_cache, self.profile.maven_repository, self.progress)
        flink = EmbeddedFlink(self.settings, jars, java)
        flink.write_config()
        for component in FLINK_COMPONENTS:
            if running(flink.pid_file(component)) is None:
                self.progress(f"starting Flink {component}")
                flink.start(component)
                self._await_ready(component, flink)

    def _await_ready(self, component: str, flink: EmbeddedFlink) -> None:
        endpoints = self.profile.flink_endpoints()
        checks: dict[str, Callable[[], bool]] = {
            "jobmanager": lambda: _answers(lambda: JobManagerClient(endpoints.rest_url, 5).overview()),
            "taskmanager": lambda: _taskmanagers(endpoints.rest_url) > 0,
            "sql-gateway": lambda: _answers(lambda: GatewayClient(endpoints.gateway_url, 5).info()),
        }

        def alive_and_ready() -> bool:
            if running(flink.pid_file(component)) is None:
                raise StackError(
                    f"Flink {component} exited during start-up; log {flink.log(component)}",
                    hint=f"read {flink.log(component)} and {flink.log(component + '.out')}",
                )
            return checks[component]()

        wait_until(alive_and_ready, f"Flink {component}", 120, flink.log(component))

    def _check_ports(self) -> None:
        embedded = self.profile.embedded
        wanted = []
        if self.profile.store_is_embedded and self.postgres.pid() is None:
            wanted.append(("postgres_port", "PostgreSQL", embedded.postgres_port))
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
    def down(self) -> list[str]:
        stopped = []
        for component in reversed(FLINK_COMPONENTS):
            if stop(self._pid_file(component)):
                stopped.append(component)
                self.progress(f"stopped Flink {component}")
        if self.postgres.pid() is not None:
            dropped = self._drop_slots()
            self.progress(f"dropped {dropped} replication slot(s)" if dropped else "no replication slots to drop")
            self.postgres.stop()
            stopped.append("postgres")
            self.progress("stopped PostgreSQL")
        return stopped

    def _drop_slots(self) -> int:
        """Slots outlive their jobs; left behind they pin WAL forever."""
        return drop_slots(self.profile.store_connection())

    # ---- state ----------------------------------------------------------------------------------
    def states(self) -> list[ComponentState]:
        states = []
        if self.profile.store_is_embedded:
            pid = self.postgres.pid()
            states.append(ComponentState("postgres", pid is not None, f"pid {pid}" if pid else "stopped"))
        if self.profile.flink_is_embedded:
            for component in FLINK_COMPONENTS:
                process = running(self._pid_file(component))
                detail = f"pid {process.pid}" if process else "stopped"
                states.append(ComponentState(component, process is not None, detail))
        return states

    def _pid_file(self, component: str) -> Path:
        return pid_path(self.profile.home, component)


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
