"""What `run` does with one model, decided from the compiled job and the registry (shared by `run` and `plan`)."""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.compiler import JobPlan
from warehouse.registry import JobRecord


@dataclass(frozen=True)
class Decision:
    action: str  # start | keep | resume | upgrade | rebuild
    reason: str

    @property
    def state_compatible(self) -> bool:
        return self.action in ("keep", "resume", "upgrade")


def decide(plan: JobPlan, record: JobRecord | None, state: str, full_refresh: bool) -> Decision:
    """`state` is the Flink state of the recorded job (RUNNING, FAILED, ..., NONE, UNKNOWN)."""
    if record is None:
        return Decision("start", "new model")
    if full_refresh:
        return Decision("rebuild", "--full-refresh: table dropped and recreated")
    same_job = record.fingerprint == plan.fingerprint
    if same_job and state == "RUNNING":
        return Decision("keep", "unchanged")
    if same_job and record.status == "stopped" and record.savepoint:
        return Decision("resume", "unchanged, stopped: resumes from its savepoint")
    if record.query_fingerprint == plan.query_fingerprint and state == "RUNNING":
        return Decision("upgrade", "state-compatible change: restart from a savepoint")
    if state == "RUNNING":
        return Decision("rebuild", "queries changed: state reset, table rebuilt")
    return Decision("rebuild", f"job was {state}: restarted clean")
