"""The README's "Your own warehouse in ten minutes", walked as a newcomer walks it, through the CLI:
`warehouse init`, `up`, `run`, `explore`, `test`, a change in the source, `down`. Every layer of the new
project is compared with an independent restatement in PostgreSQL after the pipeline drains.

The one step a newcomer does not take: the test writes a profile with free ports (the scaffold's profile uses
the default ports, which the test session's own stack may hold)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
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


def differences(context: Context, oracle: dict[str, str], database: str) -> dict[str, tuple[list[Any], list[Any]]]:
    """Per layer table whose rows differ from its oracle query (run in the source's database): both."""
    found = {}
    with connect(context.store, database=database) as source, connect(context.store) as layers:
        for table, query in oracle.items():
            expected = sorted(tuple(row) for row in source.execute(query).fetchall())
            compared = COMPARED + ", tz" if table == "ods.ods_all_types" else "*"
            actual = sorted(tuple(row) for row in layers.execute(f"SELECT {compared} FROM {table}").fetchall())
            if expected != actual:
                found[table] = (expected, actual)
    return found


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new project as `warehouse init` writes it, on a stack of its own; `warehouse down` at the end."""
    folder = tmp_path_factory.mktemp("walkthrough") / "iot_warehouse"
    output = CliRunner().invoke(cli, ["init", str(folder)]).output
    assert f"wrote {folder / 'dbt_project.yml'}" in output and "warehouse up && warehouse run" in output
    write_profile(folder)
    try:
        yield folder
    finally:
        assert "stopped: " in warehouse(folder, "down")


def test_init_up_run_explore_test(project: Path) -> None:
    context = Context(project, progress=lambda message: None)
    warehouse(project, "up")
    warehouse(project, "run")
    eventually(lambda: not differences(context, ORACLE, "app"), timeout=180, interval=2)
    with connect(context.store, database="app") as app:  # the source changes: the layers follow
        app.execute("INSERT INTO public.readings VALUES (5, 12, 30.00, '2024-01-03 10:00:00')")
        app.execute("UPDATE public.readings SET temperature = 25.00 WHERE reading_id = 1")
        app.execute("DELETE FROM public.readings WHERE reading_id = 3")
        app.execute("INSERT INTO public.readings VALUES (6, 12, NULL, '2024-01-03 11:00:00')")
    eventually(lambda: not differences(context, ORACLE, "app"), timeout=180, interval=2)
    explored = warehouse(project, "explore", "ads_device_metrics", "-n", "10")
    assert "30.00" in explored and "25.00" in explored
    tested = warehouse(project, "test")
    assert "data tests: 8 passed, 0 failed" in tested and "PASS  readings_of_a_device_per_day" in tested


TYPES_SETUP = """CREATE TABLE public.all_types (
  id bigint PRIMARY KEY, i integer, s smallint, n numeric(12,2), nn numeric, r real, d double precision,
  b boolean, t text, vc varchar(10), c char(3), dt date, ts timestamp(6), ts3 timestamp(3), tz timestamptz,
  tm time, by bytea, j json, jb jsonb, u uuid);
ALTER TABLE public.all_types REPLICA IDENTITY FULL;
INSERT INTO public.all_types VALUES
 (1, 2147483647, -32768, 1234567890.12, 12345678901234567890.1234567891, 1.5, 2.718281828459045, true, 'héllo ✓',
  'ten chars!', 'ab', '2024-02-29', '2024-01-01 10:00:00.123456', '2024-01-01 10:00:00.123',
  '2024-01-01 10:00:00.654321+02', '23:59:59', '\\xdeadbeef', '{"a": [1, 2]}', '{"b": {"c": null}}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"""
TYPES = {  # column -> declared type; the model declares the same, but timestamptz becomes timestamp(6) (UTC)
    "id": "bigint", "i": "integer", "s": "smallint", "n": "numeric(12,2)", "nn": "numeric", "r": "real",
    "d": "double precision", "b": "boolean", "t": "text", "vc": "varchar(10)", "c": "char(3)", "dt": "date",
    "ts": "timestamp(6)", "ts3": "timestamp(3)", "tz": "timestamptz", "tm": "time", "by": "bytea",
    "j": "json", "jb": "jsonb", "u": "uuid",
}  # fmt: skip
COMPARED = "id, i, s, n, nn, r, d, b, t, vc, c, dt, ts, ts3, tm, by, j::text, jb::text, u"
TYPES_ORACLE = {
    "ods.ods_all_types": f"SELECT {COMPARED}, tz AT TIME ZONE 'UTC' FROM public.all_types",
}


def test_every_accepted_type_goes_through_a_job_exactly(project: Path) -> None:
    """One table with a column of each type a model may hold, from CDC through Flink to the JDBC sink; the
    ones no job could carry (arrays, timestamptz and time(p) in a model) are refused (test_model_types.py)."""
    (project / "setup" / "types.sql").write_text(TYPES_SETUP)
    columns = [f'{{name: {name}, data_type: "{pg_type}"}}' for name, pg_type in TYPES.items()]
    source = "  - name: types\n    database: types\n    schema: public\n    tables:\n      - name: all_types\n"
    source += "        meta: {primary_key: [id]}\n        columns:\n" + "".join(f"          - {c}\n" for c in columns)
    (project / "models" / "types.yml").write_text(
        "version: 2\nsources:\n" + source + "models:\n  - name: ods_all_types\n"
        "    columns:\n" + "".join(f"      - {c}\n" for c in columns).replace('"timestamptz"', '"timestamp(6)"')
    )
    select = ", ".join(f"`{name}`" if name != "tz" else "CAST(tz AS TIMESTAMP(6)) AS tz" for name in TYPES)
    (project / "models" / "ods" / "ods_all_types.sql").write_text(
        "{{ config(primary_key=['id']) }}\n\nSELECT " + select + "\nFROM {{ source('types', 'all_types') }}\n"
    )
    context = Context(project, progress=lambda message: None)
    warehouse(project, "up")  # runs setup/types.sql in the new database `types`
    warehouse(project, "run")
    eventually(lambda: not differences(context, TYPES_ORACLE, "types"), timeout=180, interval=2)
    with connect(context.store, database="types") as source_db:
        source_db.execute(
            "UPDATE public.all_types SET jb = '[1, \"two\"]', tz = '2024-06-30 23:59:59.000001-07' WHERE id = 1"
        )
        source_db.execute("DELETE FROM public.all_types WHERE id = 2")
    eventually(lambda: not differences(context, TYPES_ORACLE, "types"), timeout=180, interval=2)


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


TICKS_SETUP = """CREATE TABLE public.ticks (tick_id bigint PRIMARY KEY, tick_time timestamp(6) NOT NULL, v integer);
INSERT INTO public.ticks VALUES
 (1, '2024-01-01 10:00:00.000001', 1), (2, '2024-01-01 10:00:59.999999', 2), (3, '2024-01-01 10:01:30.5', 4),
 (4, '2024-01-01 10:02:00.123456', 8), (5, '2024-01-01 10:05:00.000001', 16);
"""
TICKS_MODELS = """version: 2
sources:
  - name: ticks
    database: ticks
    schema: public
    tables:
      - name: ticks
        meta: {primary_key: [tick_id]}
        columns:
          - {name: tick_id, data_type: bigint}
          - {name: tick_time, data_type: "timestamp(6)"}
          - {name: v, data_type: integer}
models:
  - name: ods_ticks
    config:
      watermark: {column: tick_time, delay: 1 SECOND}
    columns:
      - {name: tick_id, data_type: bigint}
      - {name: tick_time, data_type: "timestamp(6)"}
      - {name: v, data_type: integer}
  - name: dws_ticks_minutely
    columns:
      - {name: window_start, data_type: "timestamp(3)"}
      - {name: ticks, data_type: bigint}
      - {name: v_sum, data_type: bigint}
"""
TICKS_UNIT_TEST = """unit_tests:
  - name: microsecond_ticks_per_minute
    model: dws_ticks_minutely
    given:
      - input: ref('ods_ticks')
        rows:
          - {tick_id: 1, tick_time: '2024-01-01 10:00:59.999999', v: 1}
          - {tick_id: 2, tick_time: '2024-01-01 10:01:00.000001', v: 2}
          - {tick_id: 3, tick_time: '2024-01-01 10:01:00.5', v: 4}
    expect:
      rows:
        - {window_start: '2024-01-01 10:00:00', ticks: 1, v_sum: 1}
        - {window_start: '2024-01-01 10:01:00', ticks: 2, v_sum: 6}
"""
# The minutes the watermark (newest tick - 1 s) has closed; the late tick (6) is kept aside, not counted.
TICKS_ORACLE = {
    "ods.ods_ticks": "SELECT tick_id, tick_time, v FROM public.ticks",
    "dws.dws_ticks_minutely": "SELECT date_trunc('minute', tick_time), count(*), sum(v) FROM public.ticks "
    "WHERE tick_id <> 6 GROUP BY 1 "
    "HAVING date_trunc('minute', tick_time) + interval '1 minute' <= "
    "(SELECT date_trunc('milliseconds', max(tick_time)) - interval '1 second' FROM public.ticks)",
}


def test_an_event_time_window_over_a_microsecond_column(project: Path) -> None:
    """A watermark on a timestamp(6) column: the job windows over its millisecond copy, the table keeps every
    microsecond, the unit test runs the same SQL, and a late tick is kept aside with its microseconds."""
    (project / "setup" / "ticks.sql").write_text(TICKS_SETUP)
    (project / "models" / "ticks.yml").write_text(TICKS_MODELS)
    (project / "models" / "ods" / "ods_ticks.sql").write_text(
        "{{ config(primary_key=['tick_id']) }}\n\nSELECT tick_id, tick_time, v FROM {{ source('ticks', 'ticks') }}\n"
    )
    (project / "models" / "dws" / "dws_ticks_minutely.sql").write_text(
        "{{ config(primary_key=['window_start']) }}\n\n"
        "SELECT window_start, COUNT(*) AS ticks, CAST(SUM(v) AS BIGINT) AS v_sum\n"
        "FROM TABLE(TUMBLE(TABLE {{ ref('ods_ticks') }}, DESCRIPTOR(tick_time), INTERVAL '1' MINUTE))\n"
        "GROUP BY window_start, window_end\n"
    )
    (project / "unit_tests" / "dws_ticks_minutely.yml").write_text(TICKS_UNIT_TEST)
    context = Context(project, progress=lambda message: None)
    warehouse(project, "up")
    warehouse(project, "run", "-s", "ods_ticks+")
    eventually(lambda: not differences(context, TICKS_ORACLE, "ticks"), timeout=180, interval=2)
    with connect(context.store, database="ticks") as source_db:
        source_db.execute("INSERT INTO public.ticks VALUES (7, '2024-01-01 10:07:00.000002', 32)")
        source_db.execute("INSERT INTO public.ticks VALUES (6, '2024-01-01 10:01:59.999999', 64)")  # late
    eventually(lambda: not differences(context, TICKS_ORACLE, "ticks"), timeout=180, interval=2)
    with connect(context.store) as layers:
        late = layers.execute("SELECT payload FROM _warehouse.late_rows WHERE model = 'dws_ticks_minutely'").fetchall()
    assert [row[0] for row in late] == ['{"tick_id":"6","tick_time":"2024-01-01 10:01:59.999999","v":"64"}']
    tested = warehouse(project, "test", "-s", "dws_ticks_minutely")
    assert "PASS  microsecond_ticks_per_minute" in tested
