"""Values that do not fit their column: the conditions of the reject split, the WH007 rule and the source rule,
row by row (pure functions, no services)."""

from __future__ import annotations

import pytest

from warehouse.types import holds_values_of
from warehouse.valuefit import fit_check, narrowing, rejection_reason

FIT_CHECKS = [
    # (column type, the condition on `v`, or None when every value fits)
    ("numeric(12,2)", "(`v` IS NULL OR CAST(`v` AS DECIMAL(12, 2)) IS NOT NULL)"),
    ("numeric", "(`v` IS NULL OR CAST(`v` AS DECIMAL(38, 10)) IS NOT NULL)"),
    ("integer", "(`v` IS NULL OR `v` BETWEEN -2147483648 AND 2147483647)"),
    ("int2", "(`v` IS NULL OR `v` BETWEEN -32768 AND 32767)"),
    ("varchar(20)", "(`v` IS NULL OR CHAR_LENGTH(`v`) <= 20)"),
    ("char(3)", "(`v` IS NULL OR CHAR_LENGTH(`v`) <= 3)"),
    ("bigint", None),
    ("text", None),
    ("varchar", None),
    ("timestamp(3)", None),
    ("date", None),
    ("boolean", None),
    ("double precision", None),
    ("integer[]", None),
]


@pytest.mark.parametrize(("pg_type", "condition"), FIT_CHECKS)
def test_fit_check(pg_type: str, condition: str | None) -> None:
    check = fit_check("v", pg_type)
    assert (check.condition if check else None) == condition
    if check:
        assert check.reason.startswith("v: value does not fit ")


def test_the_rejection_reason_names_the_first_rule_broken() -> None:
    checks = [c for c in (fit_check("fee", "numeric(12,2)"), fit_check("name", "varchar(5)")) if c]
    reason = rejection_reason("`id` IS NOT NULL", "primary key column is NULL", checks)
    assert reason == (
        "CASE WHEN NOT (`id` IS NOT NULL) THEN 'primary key column is NULL' "
        "WHEN NOT (`fee` IS NULL OR CAST(`fee` AS DECIMAL(12, 2)) IS NOT NULL) "
        "THEN 'fee: value does not fit numeric(12,2)' "
        "WHEN NOT (`name` IS NULL OR CHAR_LENGTH(`name`) <= 5) THEN 'name: value does not fit character varying(5)' END"
    )


NARROWING = [
    # (stream type as Flink's DESCRIBE prints it, column type, finding or None)
    ("DECIMAL(12, 2)", "numeric(12,2)", None),
    ("DECIMAL(10, 2)", "numeric(12,2)", None),
    ("DECIMAL(38, 2)", "numeric(18,2)", "DECIMAL(38, 2) may exceed DECIMAL(18, 2)"),
    ("DECIMAL(14, 4)", "numeric(12,2)", "DECIMAL(14, 4) is rounded to DECIMAL(12, 2)"),
    ("BIGINT", "numeric(18,2)", "BIGINT may exceed DECIMAL(18, 2)"),
    ("INT", "numeric(12,2)", None),
    ("DOUBLE", "numeric(12,2)", "DOUBLE may exceed DECIMAL(12, 2)"),
    ("BIGINT", "bigint", None),
    ("BIGINT", "integer", "BIGINT may exceed integer"),
    ("INT", "integer", None),
    ("INT", "smallint", "INT may exceed smallint"),
    ("DECIMAL(20, 0)", "bigint", "DECIMAL(20, 0) may exceed bigint"),
    ("DECIMAL(18, 0)", "bigint", None),
    ("STRING", "text", None),
    ("STRING", "varchar(10)", "STRING may be longer than character varying(10)"),
    ("VARCHAR(8)", "varchar(10)", None),
    ("CHAR(12)", "varchar(10)", "CHAR(12) may be longer than character varying(10)"),
    ("TIMESTAMP(6)", "timestamp(3)", "TIMESTAMP(6) keeps more fractional digits than timestamp(3) without time zone"),
    ("TIMESTAMP(3) *ROWTIME*", "timestamp(3)", None),
    ("TIMESTAMP(3)", "timestamp", None),
    ("DATE", "date", None),
    ("BIGINT", "bigint[]", None),
]


@pytest.mark.parametrize(("stream_type", "pg_type", "finding"), NARROWING)
def test_narrowing(stream_type: str, pg_type: str, finding: str | None) -> None:
    assert narrowing(stream_type, pg_type) == finding


HOLDS = [
    # (declared in the sources yml, what the database has, the declaration reads every value unchanged)
    ("numeric(12,2)", "numeric(12,2)", True),
    ("numeric(20,2)", "numeric(12,2)", True),
    ("numeric(12,2)", "numeric(20,2)", False),
    ("numeric(12,2)", "numeric", False),
    ("numeric", "numeric", True),
    ("bigint", "integer", True),
    ("integer", "bigint", False),
    ("text", "character varying(64)", True),
    ("varchar(64)", "text", True),  # both are Flink's STRING: nothing is lost reading them
    ("timestamp(3)", "timestamp(6) without time zone", False),
    ("timestamp", "timestamp(3) without time zone", True),
    ("date", "timestamp(3) without time zone", False),
    ("bigint", "text", False),
]


@pytest.mark.parametrize(("declared", "actual", "holds"), HOLDS)
def test_a_source_declaration_holds_the_database_type(declared: str, actual: str, holds: bool) -> None:
    assert holds_values_of(declared, actual) is holds
