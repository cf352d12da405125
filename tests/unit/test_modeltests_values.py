"""Fixture and result values are typed by the column's Flink type, so YAML, JSON and Flink's output compare."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from warehouse.modeltests.values import ValueTypeError, interval, shown, to_json, typed


@pytest.mark.parametrize(
    ("value", "flink_type", "expected"),
    [
        (35, "DECIMAL(18, 2)", Decimal("35.00")),
        (10.5, "DECIMAL(12, 2)", Decimal("10.50")),
        ("35.123", "DECIMAL(18, 2)", Decimal("35.123")),  # more digits than the scale: kept, so it differs
        ("2024-01-01 10:00:00", "TIMESTAMP(3)", datetime(2024, 1, 1, 10)),
        ("2024-01-01T10:00:00", "TIMESTAMP(3)", datetime(2024, 1, 1, 10)),
        (datetime(2024, 1, 1, 10), "TIMESTAMP(3)", datetime(2024, 1, 1, 10)),
        ("2024-01-01T10:00:00.5Z", "TIMESTAMP_LTZ(3)", datetime(2024, 1, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2024-01-02", "DATE", date(2024, 1, 2)),
        (7.0, "BIGINT", 7),
        ([1, "2"], "ARRAY<BIGINT>", [1, 2]),
        (None, "BIGINT", None),
    ],
)
def test_values_are_typed_by_flink_type(value: Any, flink_type: str, expected: Any) -> None:
    assert typed(value, flink_type) == expected


@pytest.mark.parametrize(
    ("value", "flink_type", "message"),
    [
        ("soon", "TIMESTAMP(3)", "'soon' is not a valid TIMESTAMP(3) value (e.g. '2024-01-01 10:00:00')"),
        (True, "BIGINT", "True is not a valid BIGINT value"),
        (1.5, "INT", "1.5 is not a valid INT value"),
        ("yes", "BOOLEAN", "'yes' is not a valid BOOLEAN value"),
    ],
)
def test_a_value_of_the_wrong_type_says_what_was_expected(value: Any, flink_type: str, message: str) -> None:
    with pytest.raises(ValueTypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        typed(value, flink_type)


def test_values_are_written_as_flinks_json_formats_read_them() -> None:
    assert to_json(datetime(2024, 1, 1, 10, 0, 10)) == "2024-01-01 10:00:10"
    assert to_json(datetime(2024, 1, 1, 10, tzinfo=UTC)) == "2024-01-01 10:00:00Z"
    assert to_json(Decimal("10.50")) == "10.50"
    assert [shown(v) for v in (None, "a", Decimal("1.00"), datetime(2024, 1, 1))] == [
        "NULL",
        "'a'",
        "1.00",
        "2024-01-01 00:00:00",
    ]
    assert interval("5 SECOND") == timedelta(seconds=5) and interval("1 HOURS") == timedelta(hours=1)
