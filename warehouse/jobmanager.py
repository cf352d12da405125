"""Flink JobManager REST client: jobs, checkpoints, metrics, stop-with-savepoint."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from warehouse.errors import FlinkError
from warehouse.http import JsonHttp

RUNNING_STATES = {"INITIALIZING", "CREATED", "RUNNING", "RESTARTING", "RECONCILING"}
HINT = "start the embedded stack with `warehouse up`, or check flink.rest_url in profiles.yml"


@dataclass(frozen=True)
class JobSummary:
    job_id: str
    name: str
    state: str
    start_time_ms: int
    duration_ms: int

    @property
    def is_running(self) -> bool:
        return self.state in RUNNING_STATES


class JobManagerClient:
    def __init__(self, rest_url: str, timeout: float = 60.0, hint: str = HINT) -> None:
        self.http = JsonHttp(rest_url, "Flink JobManager", hint, timeout)

    def overview(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get("/overview")
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get("/config")
        return result

    def jobs(self) -> list[JobSummary]:
        return [_summary(job) for job in self.http.get("/jobs/overview")["jobs"]]

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"/jobs/{job_id}")
        return result

    def state(self, job_id: str) -> str:
        return str(self.job(job_id)["state"])

    def exceptions(self, job_id: str) -> str:
        info = self.http.get(f"/jobs/{job_id}/exceptions")
        root = info.get("root-exception") or ""
        return str(root)

    def failure(self, job_id: str) -> tuple[str, float] | None:
        """The job's latest failure (its stack trace) and when it happened (epoch ms); None if it never failed."""
        info = self.http.get(f"/jobs/{job_id}/exceptions")
        if not info.get("root-exception"):
            return None
        return str(info["root-exception"]), float(info.get("timestamp") or 0)

    def restarts(self, job_id: str) -> int:
        """How many times Flink restarted the job (its `numRestarts` metric)."""
        rows = self.http.get(f"/jobs/{job_id}/metrics", get="numRestarts")
        return int(float(rows[0]["value"])) if rows else 0

    def checkpoints(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"/jobs/{job_id}/checkpoints")
        return result

    def latest_checkpoint(self, job_id: str) -> str | None:
        """Where the job's latest completed checkpoint (or savepoint) is kept, if Flink remembers one."""
        latest = (self.checkpoints(job_id).get("latest") or {}).get("completed") or {}
        path = latest.get("external_path")
        return str(path) if path and path != "<checkpoint-not-externally-addressable>" else None

    def completed_checkpoints(self, job_id: str) -> int:
        return int(self.checkpoints(job_id)["counts"]["completed"])

    def vertex_metrics(self, job_id: str, vertex_id: str, names: list[str]) -> dict[str, float]:
        rows = self.http.get(f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics", get=",".join(names))
        return {row["id"]: float(row.get("sum", row.get("max", 0))) for row in rows}

    def operator_metrics(self, job_id: str, vertex_id: str, suffixes: tuple[str, ...]) -> dict[str, float]:
        """A vertex's operator metrics whose name ends with one of `suffixes`, each summed over the subtasks."""
        available = self.http.get(f"/jobs/{job_id}/vertices/{vertex_id}/subtasks/metrics")
        names = [str(row["id"]) for row in available if str(row["id"]).endswith(suffixes)]
        return self.vertex_metrics(job_id, vertex_id, names) if names else {}

    def operator_metric(self, job_id: str, vertex_id: str, suffix: str) -> float:
        """The sum over subtasks of a vertex's operator metrics whose name ends with `suffix` (0 if none)."""
        return sum(self.operator_metrics(job_id, vertex_id, (suffix,)).values())

    def table_snapshot_metrics(self, job_id: str, vertex_id: str) -> list[dict[str, float]]:
        """Per table a CDC source reads: its coordinator's snapshot metrics (`snapshotEndTime`, ...) by name."""
        path = f"/jobs/{job_id}/vertices/{vertex_id}/jm-operator-metrics"
        names = [str(row["id"]) for row in self.http.get(path) if ".table." in str(row["id"])]
        if not names:
            return []
        tables: dict[str, dict[str, float]] = {}
        for row in self.http.get(path, get=",".join(names)):
            table, _, metric = str(row["id"]).rpartition(".")
            tables.setdefault(table, {})[metric] = float(row["value"])
        return list(tables.values())

    def cancel(self, job_id: str) -> None:
        self.http.patch(f"/jobs/{job_id}?mode=cancel")

    def stop_with_savepoint(self, job_id: str, directory: str, timeout: float = 300.0) -> str:
        """Stop the job, taking a savepoint first; return the savepoint path."""
        trigger = self.http.post(f"/jobs/{job_id}/stop", {"targetDirectory": directory, "drain": False})
        return self._await_savepoint(job_id, trigger["request-id"], timeout)

    def wait_for_state(self, job_id: str, states: set[str], timeout: float) -> str:
        deadline = time.monotonic() + timeout
        state = self.state(job_id)
        while state not in states and time.monotonic() < deadline:
            time.sleep(0.5)
            state = self.state(job_id)
        if state not in states:
            raise FlinkError(f"job {job_id} is {state}, expected {sorted(states)} within {timeout:.0f}s")
        return state

    def _await_savepoint(self, job_id: str, request_id: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.http.get(f"/jobs/{job_id}/savepoints/{request_id}")
            if result["status"]["id"] == "COMPLETED":
                return _savepoint_location(job_id, result["operation"])
            time.sleep(0.5)
        raise FlinkError(f"savepoint of job {job_id} did not complete within {timeout:.0f}s")


def _savepoint_location(job_id: str, operation: dict[str, Any]) -> str:
    if "location" in operation:
        return str(operation["location"])
    cause = operation.get("failure-cause", {}).get("stack-trace", "unknown cause")
    raise FlinkError(f"stop-with-savepoint of job {job_id} failed: {cause.splitlines()[0]}")


def _summary(job: dict[str, Any]) -> JobSummary:
    return JobSummary(
        job_id=job["jid"],
        name=job["name"],
        state=job["state"],
        start_time_ms=int(job["start-time"]),
        duration_ms=int(job["duration"]),
    )
