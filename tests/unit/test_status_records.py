"""Rows in and out of a job come from its operators' counters, row by row (Flink 1.20's metric names): the
sources' reads (not their per-table copies) and every sink's or sink writer's input."""

from __future__ import annotations

import pytest

from warehouse.lifecycle.status import records_in_out

COUNTERS = [
    # (metric name, counts as: "in", "out" or None)
    ("Source__orders[87].numRecordsOut", "in"),
    ("Source__orders[87].numRecordsIn", None),  # the CDC reader's heartbeats and snapshot markers too
    ("Source__orders[87].namespace.shop.schema.public.table.orders.numRecordsIn", None),
    ("Source__ods_orders_timed__binlog[147].numRecordsOut", "in"),
    ("Sink__ods_orders__sink[89].numRecordsIn", "out"),
    ("Sink__rejected_rows[91].numRecordsIn", "out"),
    ("late_rows[164]__Writer.numRecordsIn", "out"),
    ("SinkMaterializer[130].numRecordsIn", None),
    ("GroupAggregate[188].numRecordsIn", None),
    ("Calc[170].numRecordsIn", None),
]


@pytest.mark.parametrize(("name", "counted"), COUNTERS)
def test_each_counter_counts_once_where_it_belongs(name: str, counted: str | None) -> None:
    expected = {"in": (7, 0), "out": (0, 7), None: (0, 0)}[counted]
    assert records_in_out({name: 7.0}) == expected


def test_a_job_sums_its_sources_and_its_sinks() -> None:
    counters = {name: 10.0 * (index + 1) for index, (name, _) in enumerate(COUNTERS)}
    assert records_in_out(counters) == (10 + 40, 50 + 60 + 70)
