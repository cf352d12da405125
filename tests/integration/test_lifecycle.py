"""`up` / `doctor` / `down` on a stack of its own (so `down` can be proven without disturbing others)."""

from __future__ import annotations

from pathlib import Path

import psutil
from click.testing import CliRunner

from tests.helpers import write_profile
from warehouse.cli import cli
from warehouse.context import Context
from warehouse.store import connect


def warehouse(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), *args])
    return result.exit_code, result.output


def processes_under(home: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if any(str(home) in part for part in process.info["cmdline"] or []):
            found.append(process)
    return found


def test_up_is_idempotent_doctor_is_green_and_down_leaves_nothing(tmp_path: Path) -> None:
    write_profile(tmp_path)
    context = Context(tmp_path)
    home = context.settings.profile.home
    try:
        code, output = warehouse(tmp_path, "up")
        assert code == 0, output
        pids = {state.name: state.detail for state in context.stack_states()}
        assert all(detail.startswith("pid") for detail in pids.values()), pids

        code, output = warehouse(tmp_path, "up")
        assert code == 0 and "already running" in output
        assert {state.name: state.detail for state in context.stack_states()} == pids

        code, output = warehouse(tmp_path, "doctor")
        assert code == 0, output
        assert "0 failed" in output

        with connect(context.settings.profile.store_connection()) as conn:
            conn.execute("SELECT pg_create_logical_replication_slot('wh_lifecycle_probe', 'pgoutput')")
    finally:
        code, output = warehouse(tmp_path, "down")
    assert code == 0, output
    assert "postgres" in output and "jobmanager" in output
    assert processes_under(home) == []
    assert all(not state.running for state in context.stack_states())

    context.up()  # the slot must be gone after the restart too
    try:
        with connect(context.settings.profile.store_connection()) as conn:
            assert conn.execute("SELECT slot_name FROM pg_replication_slots").fetchall() == []
    finally:
        context.down()
    assert processes_under(home) == []
