"""`check` plans the jobs two at a time and says one line per job as it goes; the findings keep the jobs'
order (fakes for the planner: no service)."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest

from warehouse import checks
from warehouse.checks import Finding


def job(name: str, *models: str) -> Any:
    return SimpleNamespace(name=name, models=[SimpleNamespace(name=m) for m in (models or (name,))])


def test_one_line_per_job_and_the_findings_in_the_jobs_order(monkeypatch: pytest.MonkeyPatch) -> None:
    running, most = set[str](), [0]
    lock = threading.Lock()

    def planner(open_session: object, planned: Any) -> list[Finding]:
        with lock:
            running.add(planned.name)
            most[0] = max(most[0], len(running))
        time.sleep(0.05 if planned.name != "slow" else 0.2)
        with lock:
            running.discard(planned.name)
        severity = "error" if planned.name == "broken" else "warning"
        return [Finding("WH200", severity, planned.name, f"models/{planned.name}.sql", "found")]

    monkeypatch.setattr(checks, "_planner", planner)
    said: list[str] = []
    lifecycle = SimpleNamespace(
        progress=said.append, engine=SimpleNamespace(gateway=SimpleNamespace(open_session=None))
    )
    jobs = [job("slow"), job("broken"), job("grouped", "a", "b"), job("last")]
    findings = checks._planned(lifecycle, jobs)  # type: ignore[arg-type]
    assert [f.model for f in findings] == ["slow", "broken", "grouped", "last"]
    assert sorted(said) == sorted(
        [
            "slow: planned by Flink (slow)",
            "broken: rejected by Flink (broken)",
            "grouped: planned by Flink (a, b)",
            "last: planned by Flink (last)",
        ]
    )
    assert most[0] == 2  # two sessions at a time
