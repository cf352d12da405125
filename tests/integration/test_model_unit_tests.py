"""Model unit tests on a real Flink: the example project's fixtures pass, and a late event is judged by the
model's own window: a test that expects it dropped passes, one that expects it counted fails with a diff."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import REPO, copy_project
from warehouse.context import Context
from warehouse.modeltests import load_unit_tests, run_model_tests
from warehouse.store import connect

LATE = """
  - name: late_order_{name}
    model: dws_shop_minutely
    given:
      - input: ref('ods_orders_timed')
        rows:
          - {{order_id: 1, shop_id: 7, buy_fee: 10.00, create_time: '2024-01-01 10:00:10'}}
          - {{order_id: 2, shop_id: 7, buy_fee: 20.00, create_time: '2024-01-01 11:05:00'}}
          - {{order_id: 3, shop_id: 7, buy_fee: 30.00, create_time: '2024-01-01 10:00:40'}}
    expect:
      rows:
        - {{shop_id: 7, window_start: '2024-01-01 10:00:00', order_cnt: {count}, gmv: {gmv}}}
        - {{shop_id: 7, window_start: '2024-01-01 11:05:00', order_cnt: 1, gmv: 20.00}}
"""


@pytest.fixture(scope="module")
def example(stack: Context, tmp_path_factory: pytest.TempPathFactory) -> Context:
    project = copy_project(REPO, tmp_path_factory.mktemp("unit"), stack.project_dir / "profiles.yml")
    dropped, kept = LATE.format(name="dropped", count=1, gmv="10.00"), LATE.format(name="kept", count=2, gmv="40.00")
    (project / "unit_tests" / "late.yml").write_text(f"unit_tests:{dropped}{kept}")
    return Context(project)


def test_the_example_fixtures_pass_and_leave_nothing_behind(example: Context) -> None:
    names = [test.name for test in load_unit_tests(REPO)]
    results = run_model_tests(example, names=names)
    assert [r.name for r in results] == names
    failed = [f"{r.name}: {r.diff}" for r in results if not r.passed]
    assert not failed, "\n".join(failed)
    assert all(r.diff == "" and r.seconds > 0 for r in results)
    with connect(example.store) as conn:
        assert conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'wh_unit_%'").fetchall() == []
    assert list((example.settings.home / "unit_tests").iterdir()) == []


def test_a_late_event_passes_when_expected_dropped_and_fails_readably_when_kept(example: Context) -> None:
    results = {
        r.name: r for r in run_model_tests(example, "dws_shop_minutely", ["late_order_dropped", "late_order_kept"])
    }
    assert results["late_order_dropped"].passed, results["late_order_dropped"].diff
    kept = results["late_order_kept"]
    assert not kept.passed and kept.model == "dws_shop_minutely" and kept.path == "unit_tests/late.yml"
    assert kept.diff.splitlines() == [
        "final table of dws_shop_minutely differs: 0 missing, 0 extra, 1 changed (expected 2 rows, got 2)",
        "  changed (shop_id=7, window_start=2024-01-01 10:00:00)",
        "      order_cnt  expected 2      got 1",
        "      gmv        expected 40.00  got 10.00",
    ]


def test_a_job_that_fails_is_a_failed_test_with_flinks_reason(example: Context, tmp_path: Path) -> None:
    project = copy_project(example.project_dir, tmp_path / "broken", example.project_dir / "profiles.yml")
    model = project / "models" / "ods" / "ods_orders_timed.sql"
    model.write_text(
        model.read_text().replace(
            "SELECT order_id, shop_id,", "SELECT order_id, CAST(order_status AS BIGINT) AS shop_id,"
        )
    )
    (result,) = run_model_tests(Context(project), names=["orders_without_create_time_are_left_out"])
    assert not result.passed
    assert result.diff.startswith("error: Flink: java.lang.NumberFormatException: For input string: 'created'")
