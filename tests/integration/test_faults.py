"""Crashes heal and restarts resume, on a stack of this module's own: each component of the embedded stack is
killed (`kill -9`, by the pid its pid file names) while the demo workload is fed; the supervisor started by
`warehouse up` brings it back, the jobs continue from their checkpoints, and after the pipeline drains every
layer (the windowed one included) equals the oracle. No table is rebuilt (its row count never collapses), no
replication slot leaks, and the slots' WAL lag goes back to normal. `down` then `up` parks and resumes the jobs
from savepoints, with the changes made meanwhile caught up from the slots."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import REPO, copy_project, feed, start_example
from tests.helpers import eventually, write_profile
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig, Op, generate
from warehouse.demo.loader import apply
from warehouse.embedded.postgres import EmbeddedPostgres
from warehouse.embedded.processes import pid_path
from warehouse.errors import WarehouseError
from warehouse.store import connect

SHOPS = {"n_users": 60, "n_shops": 10, "n_products": 30}
START = DemoConfig(seed=41, n_orders=600, **SHOPS)
CHUNK = 40  # operations per transaction of the feeder
WATCHED = ("ods.ods_orders", "dwd.dwd_orders", "dws.dws_shop_daily", "dws.dws_shop_minutely")


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The example warehouse on a stack of its own (it gets killed), fed and drained."""
    project = tmp_path_factory.mktemp("faults")
    profile = write_profile(project)
    copy_project(REPO, project, profile)
    context = Context(project)
    context.up()
    try:
        start_example(context, START)
        yield context
    finally:
        context.down()


class Feeder(threading.Thread):
    """Feeds a workload a transaction at a time at a modest rate, riding out a database restart: each transaction
    marks itself in `public.feed_marks`, so after a lost connection it knows whether the last one committed."""

    def __init__(self, context: Context, config: DemoConfig, seconds: float) -> None:
        super().__init__(daemon=True)
        self.store = context.store
        self.ops = [op for op in generate(config) if op.table != "product_catalog"]
        self.pause = seconds / max(1, len(self.ops) // CHUNK)
        self.error: BaseException | None = None
        with connect(self.store, database="shop") as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS public.feed_marks (chunk text PRIMARY KEY)")

    def run(self) -> None:
        try:
            for start in range(0, len(self.ops), CHUNK):
                self._commit(f"{self.ops[0].key}:{start}", self.ops[start : start + CHUNK])
                time.sleep(self.pause)
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = 300) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the feeder did not finish"
        assert self.error is None, f"the feeder failed: {self.error!r}"

    def _commit(self, mark: str, ops: list[Op]) -> None:
        deadline = time.monotonic() + 120
        while True:
            try:
                with connect(self.store, database="shop", autocommit=False) as conn:
                    if conn.execute("SELECT 1 FROM public.feed_marks WHERE chunk = %s", [mark]).fetchone():
                        return  # committed before the connection was lost
                    apply(conn, ops, batch=len(ops))
                    conn.execute("INSERT INTO public.feed_marks VALUES (%s)", [mark])
                    conn.commit()
                    return
            except (psycopg.Error, WarehouseError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)


class RowCounts(threading.Thread):
    """Samples the row counts of the layers: a rebuild would show as a collapse."""

    def __init__(self, context: Context) -> None:
        super().__init__(daemon=True)
        self.store = context.store
        self.lowest: dict[str, int] = {}
        self.first: dict[str, int] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                with connect(self.store) as conn:
                    for table in WATCHED:
                        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
                        count = int(row[0]) if row else 0
                        self.first.setdefault(table, count)
                        self.lowest[table] = min(count, self.lowest.get(table, count))
            except WarehouseError:
                pass  # the store itself is down for a moment
            self.stopping.wait(0.5)

    def assert_no_collapse(self) -> None:
        self.stopping.set()
        self.join(10)
        for table, first in self.first.items():
            assert self.lowest[table] >= 0.9 * first, f"{table} fell from {first} to {self.lowest[table]} rows"


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def component_pid(context: Context, component: str) -> int:
    home = context.settings.profile.home
    if component == "postgres":
        pid = EmbeddedPostgres(home, context.settings.profile.embedded.postgres_port).pid()
        assert pid is not None
        return pid
    return int(json.loads(pid_path(home, component).read_text())["pid"])


def all_running(context: Context) -> bool:
    return all(state.running for state in context.stack_states())


def slots_in_order(context: Context) -> None:
    """Every warehouse slot belongs to a job of the registry, and none lags far behind the WAL."""
    records = context.lifecycle.registry.all()
    expected = {slot["name"] for record in records.values() for slot in record.slots}

    def caught_up() -> bool:
        with connect(context.store) as conn:
            rows = conn.execute(
                "SELECT slot_name, pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) "
                "FROM pg_replication_slots WHERE starts_with(slot_name, 'wh_')"
            ).fetchall()
        names = {str(name) for name, _ in rows}
        assert names == expected, f"slots {sorted(names ^ expected)} leaked or missing"
        return all(int(lag or 0) < 16 << 20 for _, lag in rows)

    eventually(caught_up, timeout=120, interval=2)


def job_ids(context: Context) -> dict[str, Any]:
    return {name: record.job_id for name, record in context.lifecycle.registry.all().items()}


def restarted(context: Context, component: str) -> bool:
    supervisor = {state.name: state.detail for state in context.stack_states()}["supervisor"]
    return f"{component} 1" in supervisor


def crash(faulty: Context, component: str, seed: int) -> dict[str, Any]:
    """Kill `component` while orders are fed; once the supervisor has restarted it and every job runs again,
    feed some more; then the layers must equal the oracle, with nothing rebuilt and no slot leaked."""
    before = job_ids(faulty)
    counts = RowCounts(faulty)
    counts.start()
    feeder = Feeder(faulty, DemoConfig(seed=seed, n_orders=300, first_id=seed * 10_000, **SHOPS), seconds=12)
    feeder.start()
    time.sleep(4)
    kill(component_pid(faulty, component))
    feeder.finish()
    eventually(lambda: restarted(faulty, component), timeout=180, interval=1)
    eventually(lambda: all(s.running for s in faulty.status()), timeout=240, interval=2)
    feed(faulty, DemoConfig(seed=seed + 100, n_orders=100, first_id=(seed + 100) * 10_000, **SHOPS), products=False)
    assert_drains_to_oracle(faulty, timeout=420)
    counts.assert_no_collapse()
    slots_in_order(faulty)
    return before


def test_a_killed_taskmanager_is_restarted_and_the_jobs_continue(faulty: Context) -> None:
    before = crash(faulty, "taskmanager", 51)
    assert job_ids(faulty) == before  # Flink restarted the same jobs from their checkpoints


def test_a_killed_jobmanager_is_restarted_and_its_jobs_resumed(faulty: Context) -> None:
    before = crash(faulty, "jobmanager", 52)
    after = job_ids(faulty)
    assert set(after) == set(before) and all(after[m] != before[m] for m in before)  # resumed as new jobs
    assert all(s.state == "RUNNING" for s in faulty.status())


def test_a_killed_sql_gateway_is_restarted(faulty: Context) -> None:
    before = crash(faulty, "sql-gateway", 53)
    assert job_ids(faulty) == before
    result = faulty.sql("SELECT COUNT(*) FROM ods_orders")
    assert result.rows and result.rows[0].fields[0] > 0


def test_a_killed_postgres_is_restarted_and_the_jobs_continue(faulty: Context) -> None:
    before = crash(faulty, "postgres", 54)
    assert job_ids(faulty) == before


def test_down_parks_the_jobs_and_up_resumes_them_with_what_changed_meanwhile(faulty: Context) -> None:
    before = job_ids(faulty)
    parked, stopped = faulty.down()
    assert {job.job for job in parked} == set(before) and "postgres" in stopped
    home, port = faulty.settings.profile.home, faulty.settings.profile.embedded.postgres_port
    postgres = EmbeddedPostgres(home, port)  # the OLTP database changes while the warehouse is down
    postgres.start(faulty.store.password.get_secret_value())
    try:
        feed(faulty, DemoConfig(seed=55, n_orders=300, first_id=550_000, **SHOPS), products=False)
    finally:
        postgres.stop()
    states, resumed = faulty.up()
    assert all(state.running for state in states)
    assert {job.job for job in resumed if job.action == "resumed"} == set(before)
    assert_drains_to_oracle(faulty, timeout=300)
    slots_in_order(faulty)


def test_status_and_doctor_say_what_is_wrong_and_how_to_fix_it(faulty: Context) -> None:
    record = faulty.lifecycle.registry.all()["dws_shop_daily"]  # the job that runs ads_shop_metrics
    assert record.job_id and "ads_shop_metrics" in record.members
    faulty.jobmanager.cancel(record.job_id)
    faulty.jobmanager.wait_for_state(record.job_id, {"CANCELED"}, timeout=60)
    status = {s.job: s for s in faulty.status()}["dws_shop_daily"]
    assert status.state == "CANCELED" and "`warehouse run` resumes it" in status.problem
    assert "ads_shop_metrics" in status.models
    check = next(c for c in faulty.doctor() if c.name == "job dws_shop_daily")
    assert not check.ok and "resumes it from" in check.fix
    resumed = {a.model: a.action for a in faulty.run() if a.action != "unchanged"}
    assert resumed == dict.fromkeys(record.members, "resumed")
    assert all(s.running for s in faulty.status())


def test_down_on_a_stack_never_started_does_nothing(tmp_path: Path) -> None:
    write_profile(tmp_path)
    parked, stopped = Context(tmp_path).down()
    assert (parked, stopped) == ([], [])
