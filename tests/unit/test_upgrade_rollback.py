"""An upgrade whose new job Flink will not start: the old job comes back from the savepoint just taken, the
registry says so, and the error names both (the running table is never cleared on this path)."""

from __future__ import annotations

from typing import Any

import pytest

from warehouse.compiler import CompiledJob, CompiledModel, Stream
from warehouse.errors import FlinkError
from warehouse.lifecycle.apply import Lifecycle
from warehouse.lifecycle.engine import JobSpec
from warehouse.lifecycle.registry import JobRecord
from warehouse.model_config import TableSettings
from warehouse.project import Column, Model, Table

SAVEPOINT = "file:///sp/savepoint-1"


class FakeJobManager:
    def wait_for_state(self, job_id: str, states: set[str], timeout: float) -> str:
        return "RUNNING"

    def state(self, job_id: str) -> str:
        return "RUNNING"


class FakeEngine:
    """Stops with a savepoint; refuses to start the new version of the job, starts the old one."""

    def __init__(self) -> None:
        self.jobmanager = FakeJobManager()
        self.started: list[tuple[list[str], str | None]] = []

    def stop(self, job_id: str) -> str:
        return SAVEPOINT

    def submit(self, spec: JobSpec, savepoint: str | None = None) -> str:
        if "new" in spec.inserts:
            raise FlinkError("the new job's operator state does not match")
        self.started.append((list(spec.inserts), savepoint))
        return "old-again"


class FakeRegistry:
    def __init__(self) -> None:
        self.saved: list[JobRecord] = []

    def save(self, record: JobRecord) -> None:
        self.saved.append(record)


def test_a_new_job_that_does_not_start_resumes_the_old_one_from_its_savepoint() -> None:
    table = Table("model.x.t", "wh", "m", "t", (Column("id", "bigint"),), ("id",))
    model = Model(table, "models/t.sql", "continuous", TableSettings(primary_key=["id"]), ())
    new = CompiledJob("t", [CompiledModel(model, [Stream("main", "SELECT 1", ["id"], 1)])], [], ["new"], [])
    record = JobRecord("t", "f-old", "q-old", "old-job", "running", spec={"ddl": [], "inserts": ["old"]})
    engine, registry = FakeEngine(), FakeRegistry()
    lifecycle = Lifecycle(None, None, None, engine, registry, None, lambda message: None)  # type: ignore[arg-type]
    with pytest.raises(FlinkError, match=f"did not start.*previous job was resumed from {SAVEPOINT} as old-again"):
        lifecycle._upgrade(new, record, "state-compatible change")
    assert engine.started == [(["old"], SAVEPOINT)]
    last: Any = registry.saved[-1]
    assert (last.job_id, last.status, last.savepoint, last.spec["inserts"]) == ("old-again", "running", None, ["old"])
