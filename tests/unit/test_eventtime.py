"""Event time in the compiled jobs: the watermark held during the snapshot, late rows split off and kept,
values checked against their columns (the example project compiled without services)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.example_project import copy_example, edit, plan
from warehouse.eventtime import ROWTIME, EventTime, reads_event_time, watermark_columns
from warehouse.model_config import Watermark
from warehouse.project import ModelError

ODS_YML = "models/ods/ods.yml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def test_the_watermark_stays_at_the_epoch_for_snapshot_rows() -> None:
    event = EventTime(Watermark(column="ts", delay="5 SECOND"), "ts", "TIMESTAMP(3)")
    metadata, watermark = watermark_columns(event)
    assert metadata == "`wh_op_ts` TIMESTAMP_LTZ(3) METADATA FROM 'op_ts' VIRTUAL"
    assert watermark == (
        "WATERMARK FOR `ts` AS CASE WHEN `wh_op_ts` = TO_TIMESTAMP_LTZ(0, 3) "
        "THEN CAST(TIMESTAMP '1970-01-01 00:00:00' AS TIMESTAMP(3)) ELSE `ts` - INTERVAL '5' SECOND END"
    )


@pytest.mark.parametrize(
    ("sql", "windows"),
    [
        ("SELECT * FROM TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))", True),
        ("SELECT * FROM TABLE(\n  hop(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE))", True),
        ("SELECT shop_id, COUNT(*) FROM t GROUP BY shop_id", False),
        ("SELECT tumble_count FROM t", False),
    ],
)
def test_which_streams_window_over_event_time(sql: str, windows: bool) -> None:
    assert reads_event_time(sql) is windows


def test_a_window_reads_on_time_rows_and_keeps_the_late_ones(project: Path) -> None:
    job = plan(project, "dws_shop_minutely")
    script = job.script()
    assert "CREATE TEMPORARY TABLE `warehouse`.`ods`.`ods_orders_timed__binlog`" in script
    judged = "CREATE TEMPORARY VIEW `warehouse`.`ods`.`ods_orders_timed__judged` AS"
    assert judged in script and "LEFT JOIN `warehouse`.`ods`.`ods_orders_timed__floor` FOR SYSTEM_TIME AS OF" in script
    assert "b.`wh_op_ts` <> TO_TIMESTAMP_LTZ(0, 3) AND b.`create_time` <= COALESCE(GREATEST(" in script
    on_time = "CREATE TEMPORARY VIEW `warehouse`.`ods`.`ods_orders_timed` AS"
    assert on_time in script and "FROM `warehouse`.`ods`.`ods_orders_timed__judged`\nWHERE NOT `wh_late`" in script
    late = [insert for insert in job.inserts if "`late_rows`" in insert]
    assert len(late) == 1 and late[0].endswith("FROM `warehouse`.`ods`.`ods_orders_timed__judged`\nWHERE `wh_late`")
    assert "'connector' = 'warehouse-changes'" in script
    assert "'table-name' = '_warehouse.ods__ods_orders_timed__newest'" in script  # the floor after a restart


def test_late_rows_drop_leaves_late_rows_to_the_window(project: Path) -> None:
    watermark = "watermark: {column: create_time, delay: 1 HOUR"
    edit(project, ODS_YML, watermark + "}", watermark + ", late_rows: drop}")
    job = plan(project, "dws_shop_minutely")
    assert "__binlog" not in job.script() and not [i for i in job.inserts if "late_rows" in i]
    assert "WATERMARK FOR `create_time`" in job.script()


def test_readers_without_windows_read_every_row(project: Path) -> None:
    job = plan(project, "ods_orders_timed")  # reads the source (no watermark); nothing to split
    assert "CURRENT_WATERMARK" not in job.script()


def test_the_watermark_of_a_microsecond_column_is_on_its_millisecond_copy() -> None:
    event = EventTime(Watermark(column="ts", delay="5 SECOND"), ROWTIME, "TIMESTAMP(3)")
    _, copy, watermark = watermark_columns(event)
    assert copy == "`wh_rowtime` AS CAST(`ts` AS TIMESTAMP(3))"
    assert watermark.startswith("WATERMARK FOR `wh_rowtime` AS CASE") and "ELSE `wh_rowtime` - INTERVAL" in watermark


def _declare_create_time(project: Path, data_type: str) -> None:
    text = (project / ODS_YML).read_text()
    timed = text.index("- name: ods_orders_timed")
    millis = 'create_time, data_type: "timestamp(3)"'
    (project / ODS_YML).write_text(
        text[:timed] + text[timed:].replace(millis, f'create_time, data_type: "{data_type}"')
    )


@pytest.mark.parametrize("data_type", ["timestamp(6)", "timestamp(4)", "timestamp"])
def test_a_window_over_a_microsecond_column_reads_its_millisecond_copy(project: Path, data_type: str) -> None:
    _declare_create_time(project, data_type)
    job = plan(project, "dws_shop_minutely")
    script = job.script()
    assert "`wh_rowtime` AS CAST(`create_time` AS TIMESTAMP(3))" in script
    assert "WATERMARK FOR `wh_rowtime`" in script and "WATERMARK FOR `create_time`" not in script
    assert "DESCRIPTOR(`wh_rowtime`)" in script and "DESCRIPTOR(create_time)" not in script
    assert "b.`create_time`, b.`wh_rowtime`" in script  # the judged view keeps both
    assert "b.`wh_rowtime` <= COALESCE(GREATEST(" in script  # lateness is judged on the copy
    precision = "4" if "4" in data_type else "6"
    assert f"`create_time` TIMESTAMP({precision})" in script  # the column itself keeps its digits


def test_a_millisecond_column_carries_its_own_watermark(project: Path) -> None:
    _declare_create_time(project, "timestamp(0)")
    script = plan(project, "dws_shop_minutely").script()
    assert "WATERMARK FOR `create_time`" in script and "wh_rowtime" not in script


def test_a_watermark_on_a_column_that_is_no_timestamp_is_refused_with_the_fix(project: Path) -> None:
    _declare_create_time(project, "date")
    with pytest.raises(ModelError, match=r"create_time' of ods_orders_timed is date; event time needs a timestamp"):
        plan(project, "dws_shop_minutely")


def test_every_sink_column_that_can_overflow_is_checked(project: Path) -> None:
    job = plan(project, "ods_orders")
    accepted, rejected = job.inserts
    fits = "(`buy_fee` IS NULL OR CAST(`buy_fee` AS DECIMAL(12, 2)) IS NOT NULL)"
    assert f"WHERE `order_id` IS NOT NULL AND {fits}" in accepted
    assert "'buy_fee: value does not fit numeric(12,2)'" in rejected
    assert "WHERE NOT (`order_id` IS NOT NULL AND (`buy_fee` IS NULL" in rejected
