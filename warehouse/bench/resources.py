"""Resource samples while a contender runs: CPU time and memory of the stack's processes, WAL written, Flink
checkpointed state, replication-slot lag.

The processes are the embedded stack's (the PostgreSQL postmaster with every backend and walsender it forked, the
JobManager, the TaskManager, the SQL Gateway) plus a contender's helper processes (P2's dbt loop). The feeder and
the probes are not counted. CPU time includes children that have exited (the postmaster's reaped backends).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import psutil

from warehouse.config import Settings
from warehouse.embedded.flink import flink_components
from warehouse.embedded.postgres import EmbeddedPostgres
from warehouse.embedded.processes import pid_path, running
from warehouse.errors import FlinkError
from warehouse.jobmanager import JobManagerClient
from warehouse.store import connect

SLOW_EVERY = 5  # memory and checkpoint sizes every 5th sample: PSS and REST calls cost more
WAL_AND_LAG = (
    "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, "
    "(SELECT sum(pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn))::bigint "
    "FROM pg_replication_slots WHERE starts_with(slot_name, 'wh_'))"
)


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_seconds: float | None  # cumulative, every process of the stack and the helpers
    cpu_by_process: dict[int, tuple[str, float]]  # pid -> (part, cumulative CPU seconds)
    machine_busy_seconds: float  # cumulative, the whole machine (to see load from outside the stack)
    memory_bytes: int | None
    wal_bytes: int
    slot_lag_bytes: int | None
    flink_state_bytes: int | None


def cpu_by_part(first: Sample, last: Sample) -> dict[str, float]:
    """CPU seconds per part of the stack between two samples (processes that exited in between count under
    the postmaster, which collects its children's time)."""
    parts: dict[str, float] = {}
    for pid, (part, seconds) in last.cpu_by_process.items():
        before = first.cpu_by_process.get(pid, (part, 0.0))[1]
        parts[part] = parts.get(part, 0.0) + max(0.0, seconds - before)
    return parts


@dataclass
class ResourceSampler:
    settings: Settings
    jobmanager: JobManagerClient
    name: str
    flink_jobs: Callable[[], list[str]]
    helper_pids: Callable[[], list[int]]
    interval: float = 1.0
    samples: list[Sample] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name="bench-resources")
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(15)

    def between(self, since: float, until: float) -> list[Sample]:
        return [sample for sample in list(self.samples) if since <= sample.at <= until]

    def _run(self) -> None:
        count, memory, state = 0, None, None
        with connect(self.settings.profile.store_connection()) as conn:
            while not self._stopping.is_set():
                roots = self._roots()
                if count % SLOW_EVERY == 0:
                    memory, state = _memory(roots), self._flink_state()
                row = conn.execute(WAL_AND_LAG).fetchone()
                wal, lag = (int(row[0]), row[1]) if row else (0, None)
                by_process = _cpu_by_process(roots)
                total = sum(seconds for _, seconds in by_process.values()) if roots else None
                sample = Sample(time.time(), total, by_process, _machine_busy(), memory, wal, lag, state)
                self.samples.append(sample)
                count += 1
                self._stopping.wait(self.interval)

    def _roots(self) -> list[tuple[str, psutil.Process]]:
        """The stack's top processes and the contender's helpers (each counted with its children), by part."""
        profile = self.settings.profile
        found: list[tuple[str, psutil.Process | None]] = []
        if profile.flink_is_embedded:
            found += [
                (f"flink {c}", running(pid_path(profile.home, c)))
                for c in flink_components(profile.embedded.taskmanagers)
            ]
        pids: list[tuple[str, int | None]] = [(f"{self.name} helper", pid) for pid in self.helper_pids()]
        if profile.store_is_embedded:
            pids.append(("postgres", EmbeddedPostgres(profile.home, profile.embedded.postgres_port).pid()))
        for part, pid in pids:
            if pid is not None and psutil.pid_exists(pid):
                found.append((part, psutil.Process(pid)))
        return [(part, process) for part, process in found if process is not None]

    def _flink_state(self) -> int | None:
        jobs = self.flink_jobs()
        if not jobs:
            return None
        total = 0
        for job in jobs:
            try:
                latest = (self.jobmanager.checkpoints(job).get("latest") or {}).get("completed") or {}
            except FlinkError:
                continue
            total += int(latest.get("state_size") or latest.get("checkpointed_size") or 0)
        return total


def _cpu_by_process(roots: list[tuple[str, psutil.Process]]) -> dict[int, tuple[str, float]]:
    found = {}
    for part, process in _trees(roots):
        try:
            times = process.cpu_times()
            label = _postgres_part(process) if part == "postgres" and process.pid not in _pids(roots) else part
        except psutil.Error:
            continue
        found[process.pid] = (label, times.user + times.system + times.children_user + times.children_system)
    return found


def _postgres_part(process: psutil.Process) -> str:
    """What a PostgreSQL child process does, from its title."""
    title = " ".join(process.cmdline())
    if "walsender" in title:
        return "postgres walsenders"
    if title.startswith("postgres: postgres "):
        return "postgres backends"
    return "postgres background"


def _pids(roots: list[tuple[str, psutil.Process]]) -> set[int]:
    return {process.pid for _, process in roots}


def _machine_busy() -> float:
    times = psutil.cpu_times()
    return float(times.user + times.nice + times.system + getattr(times, "irq", 0) + getattr(times, "softirq", 0))


def _memory(roots: list[tuple[str, psutil.Process]]) -> int | None:
    """Proportional set size (shared pages split between the processes that map them), else resident size."""
    if not roots:
        return None
    total = 0
    for _, process in _trees(roots):
        try:
            info = process.memory_full_info()
        except psutil.Error:
            continue
        total += int(getattr(info, "pss", info.rss))
    return total


def _trees(roots: list[tuple[str, psutil.Process]]) -> Iterator[tuple[str, psutil.Process]]:
    for part, root in roots:
        yield part, root
        try:
            yield from ((part, child) for child in root.children(recursive=True))
        except psutil.Error:
            continue
