"""Running continuous jobs on Flink: submit (optionally from a savepoint), stop with savepoint, remove.

A job is described by its DDL (temporary tables of one gateway session) and its INSERTs, which run
together as one statement set, so several streams feeding one table are one job.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from warehouse.config import StoreConnection
from warehouse.errors import FlinkError
from warehouse.gateway import GatewayClient
from warehouse.identifiers import flink_string
from warehouse.jobmanager import JobManagerClient
from warehouse.store import drop_slots

TERMINAL_STATES = {"FINISHED", "CANCELED", "FAILED"}


@dataclass(frozen=True)
class JobSpec:
    name: str
    ddl: Sequence[str]
    inserts: Sequence[str]
    slots: Sequence[str] = ()
    settings: dict[str, str] = field(default_factory=dict)


class Engine:
    def __init__(
        self, gateway: GatewayClient, jobmanager: JobManagerClient, store: StoreConnection, savepoint_dir: str
    ) -> None:
        self.gateway = gateway
        self.jobmanager = jobmanager
        self.store = store
        self.savepoint_dir = savepoint_dir

    def submit(self, spec: JobSpec, savepoint: str | None = None) -> str:
        """Start the job (resuming from `savepoint` if given) and return its Flink job id."""
        with self.gateway.open_session() as session:
            settings = {"pipeline.name": spec.name, **spec.settings}
            if savepoint:
                settings["execution.savepoint.path"] = savepoint
            for key, value in settings.items():
                session.execute(f"SET {flink_string(key)} = {flink_string(value)}")
            for statement in spec.ddl:
                session.execute(statement)
            result = session.execute_statement_set(list(spec.inserts))
        if not result.job_id:
            raise FlinkError(f"job {spec.name} was submitted but Flink returned no job id")
        return result.job_id

    def stop(self, job_id: str) -> str:
        """Stop with a savepoint; return its location."""
        return self.jobmanager.stop_with_savepoint(job_id, self.savepoint_dir)

    def remove(self, job_id: str | None, slots: Sequence[str]) -> None:
        """Cancel the job (if it still runs) and drop its replication slots, which would pin WAL."""
        if job_id and self.jobmanager.state(job_id) not in TERMINAL_STATES:
            self.jobmanager.cancel(job_id)
            self.jobmanager.wait_for_state(job_id, TERMINAL_STATES, timeout=60)
        if slots:
            drop_slots(self.store, list(slots))
