"""The README's "Your own warehouse in ten minutes", walked as a newcomer walks it, through the CLI:
`warehouse init`, `up`, `run`, `explore`, `test`, a change in the source, `down`. Every layer of the new
project is compared with an independent restatement in PostgreSQL after the pipeline drains.

The one step a newcomer does not take: the test writes a profile with free ports (the scaffold's profile uses
the default ports, which the test session's own stack may hold)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.helpers import eventually, write_profile
from warehouse.cli import cli
from warehouse.context import Context
from warehouse.errors import StackError
from warehouse.store import connect

ORACLE = {  # the scaffold's business logic, restated over the source table
    "ods.ods_readings": "SELECT reading_id, device_id, temperature, read_at FROM public.readings",
    "dwd.dwd_readings": "SELECT reading_id, device_id, temperature, read_at, read_at::date FROM public.readings "
    "WHERE temperature IS NOT NULL",
    "dws.dws_device_daily": "SELECT device_id, read_at::date, count(*), max(temperature) FROM public.readings "
    "WHERE temperature IS NOT NULL GROUP BY 1, 2",
    "ads.ads_device_metrics": "SELECT device_id, count(*), max(temperature), count(DISTINCT read_at::date) "
    "FROM public.readings WHERE temperature IS NOT NULL GROUP BY 1",
}


def warehouse(project: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), *args])
    assert result.exit_code == 0, f"warehouse {' '.join(args)} exited {result.exit_code}:\n{result.output}"
    return result.output


def differences(context: Context) -> dict[str, tuple[list[Any], list[Any]]]:
    found = {}
    with connect(context.store, database="app") as app, connect(context.store) as layers:
        for table, oracle in ORACLE.items():
            expected = sorted(tuple(row) for row in app.execute(oracle).fetchall())
            actual = sorted(tuple(row) for row in layers.execute(f"SELECT * FROM {table}").fetchall())
            if expected != actual:
                found[table] = (expected, actual)
    return found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "iot_warehouse"
    output = CliRunner().invoke(cli, ["init", str(folder)]).output
    assert f"wrote {folder / 'dbt_project.yml'}" in output and "warehouse up && warehouse run" in output
    write_profile(folder)
    return folder


def test_init_up_run_explore_test_down(project: Path) -> None:
    context = Context(project, progress=lambda message: None)
    warehouse(project, "up")
    try:
        warehouse(project, "run")
        eventually(lambda: not differences(context), timeout=180, interval=2)
        with connect(context.store, database="app") as app:  # the source changes: the layers follow
            app.execute("INSERT INTO public.readings VALUES (5, 12, 30.00, '2024-01-03 10:00:00')")
            app.execute("UPDATE public.readings SET temperature = 25.00 WHERE reading_id = 1")
            app.execute("DELETE FROM public.readings WHERE reading_id = 3")
            app.execute("INSERT INTO public.readings VALUES (6, 12, NULL, '2024-01-03 11:00:00')")
        eventually(lambda: not differences(context), timeout=180, interval=2)
        explored = warehouse(project, "explore", "ads_device_metrics", "-n", "10")
        assert "30.00" in explored and "25.00" in explored
        tested = warehouse(project, "test")
        assert "data tests: 8 passed, 0 failed" in tested and "PASS  readings_of_a_device_per_day" in tested
    finally:
        warehouse(project, "down")


def test_a_setup_script_runs_once_in_its_new_database_and_a_failing_one_is_retried(
    stack: Context, tmp_path: Path
) -> None:
    shutil.copy(stack.project_dir / "profiles.yml", tmp_path / "profiles.yml")
    (tmp_path / "setup").mkdir()
    script = tmp_path / "setup" / "scratch.sql"
    script.write_text("CREATE TABLE public.t (id bigint PRIMARY KEY);\nINSERT INTO public.missing VALUES (1);\n")
    context = Context(tmp_path, progress=lambda message: None)
    with pytest.raises(StackError) as caught:
        context.up()  # the stack runs already: `up` runs the setup scripts of new databases
    assert caught.value.where == str(script) and 'relation "public.missing" does not exist' in caught.value.message
    assert caught.value.hint == "fix the SQL and run `warehouse up` again"
    script.write_text("CREATE TABLE public.t (id bigint PRIMARY KEY);\nINSERT INTO public.t VALUES (1);\n")
    context.up()
    context.up()  # not again: the database exists
    with connect(context.store, database="scratch") as conn:
        assert conn.execute("SELECT count(*) FROM public.t").fetchone() == (1,)
