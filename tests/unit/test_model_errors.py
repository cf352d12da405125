"""A broken model fails with a message that names its file (and line where one is known).

dbt parses and renders the project and the compiler checks the streams; no service is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.example_project import copy_example, edit, plan
from warehouse.config import load_settings
from warehouse.project import DbtProject, ModelError


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def test_the_example_project_compiles(project: Path) -> None:
    job = plan(project, "dwd_orders")
    assert [s.name for s in job.streams] == ["orders", "payments"]
    assert job.streams[1].columns == ["order_id", "pay_id", "pay_platform", "pay_time"]
    assert [slot.name for slot in job.slots] == ["wh_dwd_orders__ods_orders", "wh_dwd_orders__ods_orders_pay"]
    sinks = [ddl for ddl in job.ddl if "`dwd`.`dwd_orders__" in ddl]
    assert len(sinks) == 2 and "`pay_id`" not in sinks[0] and "`user_id`" not in sinks[1]


def test_jinja_error_names_the_file(project: Path) -> None:
    edit(project, "models/dws/dws_user_daily.sql", "{{ ref('dwd_orders') }}", "{{ ref('dwd_orders') }")
    with pytest.raises(ModelError) as caught:
        plan(project, "dws_user_daily")
    assert "models/dws/dws_user_daily.sql" in str(caught.value)


def test_ref_to_a_missing_model_names_the_file(project: Path) -> None:
    edit(project, "models/ads/ads_shop_metrics.sql", "ref('dws_shop_daily')", "ref('dws_shop_weekly')")
    with pytest.raises(ModelError) as caught:
        plan(project, "ads_shop_metrics")
    message = str(caught.value)
    assert "models/ads/ads_shop_metrics.sql" in message
    assert "dws_shop_weekly" in message


def test_stream_without_the_primary_key_fails_with_its_code_and_line(project: Path) -> None:
    edit(project, "models/dwd/dwd_orders.sql", "SELECT order_id, pay_id,", "SELECT pay_id,")
    with pytest.raises(ModelError) as caught:
        plan(project, "dwd_orders")
    message = str(caught.value)
    assert "WH001" in message and "stream 'payments'" in message and "order_id" in message
    assert "models/dwd/dwd_orders.sql:16" in message


def test_two_streams_writing_one_column_fail(project: Path) -> None:
    edit(project, "models/dwd/dwd_orders.sql", "SELECT order_id, pay_id,", "SELECT order_id, user_id, pay_id,")
    with pytest.raises(ModelError, match="WH002"):
        plan(project, "dwd_orders")


def test_sql_syntax_error_names_file_and_line(project: Path) -> None:
    edit(project, "models/ads/ads_user_metrics.sql", "SUM(order_cnt) AS total_orders", "SUM(order_cnt AS total_orders")
    with pytest.raises(ModelError) as caught:
        plan(project, "ads_user_metrics")
    assert "models/ads/ads_user_metrics.sql:4" in str(caught.value)


def test_unknown_config_key_is_named(project: Path) -> None:
    edit(project, "models/dws/dws_shop_daily.sql", "primary_key=", "primary_kye=")
    with pytest.raises(Exception) as caught:
        DbtProject(load_settings(project, environ={})).models  # noqa: B018
    assert "primary_kye" in str(caught.value) and "dws_shop_daily.sql" in str(caught.value)
