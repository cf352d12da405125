from __future__ import annotations

import pytest

from warehouse.errors import ConfigError
from warehouse.types import PgType, compatible_change, flink_type, normalize_pg_type, parse_pg_type


@pytest.mark.parametrize(
    ("pg_type", "expected"),
    [
        ("bigint", "BIGINT"),
        ("int8", "BIGINT"),
        ("bigserial", "BIGINT"),
        ("integer", "INT"),
        ("int", "INT"),
        ("int4", "INT"),
        ("serial", "INT"),
        ("smallint", "SMALLINT"),
        ("int2", "SMALLINT"),
        ("numeric(12,2)", "DECIMAL(12, 2)"),
        ("decimal(18, 2)", "DECIMAL(18, 2)"),
        ("numeric(10)", "DECIMAL(10, 0)"),
        ("numeric", "DECIMAL(38, 10)"),
        ("real", "FLOAT"),
        ("float4", "FLOAT"),
        ("double precision", "DOUBLE"),
        ("float8", "DOUBLE"),
        ("float", "DOUBLE"),
        ("float(24)", "FLOAT"),
        ("float(25)", "DOUBLE"),
        ("boolean", "BOOLEAN"),
        ("bool", "BOOLEAN"),
        ("text", "STRING"),
        ("varchar(64)", "STRING"),
        ("character varying", "STRING"),
        ("character varying(10)", "STRING"),
        ("char(3)", "STRING"),
        ("date", "DATE"),
        ("timestamp", "TIMESTAMP(6)"),
        ("timestamp(3)", "TIMESTAMP(3)"),
        ("timestamp without time zone", "TIMESTAMP(6)"),
        ("timestamp(0) without time zone", "TIMESTAMP(0)"),
        ("timestamptz", "TIMESTAMP_LTZ(6)"),
        ("timestamptz(3)", "TIMESTAMP_LTZ(3)"),
        ("timestamp with time zone", "TIMESTAMP_LTZ(6)"),
        ("timestamp(3) with time zone", "TIMESTAMP_LTZ(3)"),
        ("time", "TIME(0)"),
        ("time(3)", "TIME(3)"),
        ("bytea", "BYTES"),
        ("jsonb", "STRING"),
        ("json", "STRING"),
        ("uuid", "STRING"),
        ("integer[]", "ARRAY<INT>"),
        ("text []", "ARRAY<STRING>"),
    ],
)
def test_flink_type(pg_type: str, expected: str) -> None:
    assert flink_type(pg_type) == expected


@pytest.mark.parametrize(
    ("spelling", "flink", "canonical"),
    [
        ("BIGINT", "BIGINT", "bigint"),
        ("  BigInt ", "BIGINT", "bigint"),
        ("Numeric ( 12 , 2 )", "DECIMAL(12, 2)", "numeric(12,2)"),
        ("TIMESTAMP  (3)   WITHOUT\tTIME ZONE", "TIMESTAMP(3)", "timestamp(3) without time zone"),
        ("Character\nVarying(8)", "STRING", "character varying(8)"),
    ],
)
def test_case_and_whitespace_do_not_matter(spelling: str, flink: str, canonical: str) -> None:
    assert flink_type(spelling) == flink
    assert normalize_pg_type(spelling) == canonical


@pytest.mark.parametrize(
    ("pg_type", "canonical"),
    [
        ("int8", "bigint"),
        ("bigserial", "bigint"),
        ("int", "integer"),
        ("INT4", "integer"),
        ("int2", "smallint"),
        ("decimal(18, 2)", "numeric(18,2)"),
        ("numeric( 12 ,2 )", "numeric(12,2)"),
        ("numeric(10)", "numeric(10,0)"),
        ("numeric", "numeric"),
        ("float4", "real"),
        ("float8", "double precision"),
        ("Double   Precision", "double precision"),
        ("bool", "boolean"),
        ("text", "text"),
        ("varchar(64)", "character varying(64)"),
        ("varchar", "character varying"),
        ("char(3)", "character(3)"),
        ("char", "character(1)"),
        ("date", "date"),
        ("timestamp", "timestamp without time zone"),
        ("timestamp(3)", "timestamp(3) without time zone"),
        ("timestamp (3) without time zone", "timestamp(3) without time zone"),
        ("timestamptz", "timestamp with time zone"),
        ("timestamptz(3)", "timestamp(3) with time zone"),
        ("time", "time without time zone"),
        ("time(0)", "time(0) without time zone"),
        ("bytea", "bytea"),
        ("jsonb", "jsonb"),
        ("uuid", "uuid"),
        ("int[]", "integer[]"),
        ("varchar(10)[]", "character varying(10)[]"),
    ],
)
def test_normalize_pg_type_spells_like_format_type(pg_type: str, canonical: str) -> None:
    assert normalize_pg_type(pg_type) == canonical
    assert normalize_pg_type(canonical) == canonical


def test_parse_pg_type_structure() -> None:
    assert parse_pg_type("decimal(18, 2)") == PgType("numeric", (18, 2))
    assert parse_pg_type("timestamptz(3)[]") == PgType("timestamp with time zone", (3,), array=True)
    assert parse_pg_type("varchar").precision is None


@pytest.mark.parametrize(
    "pg_type", ["money", "timetz", "time with time zone", "double", "interval", "", "int(", "geometry"]
)
def test_unknown_types_name_the_type_and_list_the_supported_ones(pg_type: str) -> None:
    with pytest.raises(ConfigError) as raised:
        flink_type(pg_type)
    assert f"'{pg_type}'" in str(raised.value)
    assert raised.value.hint is not None
    assert "bigint" in raised.value.hint and "timestamptz" in raised.value.hint


@pytest.mark.parametrize(
    ("pg_type", "problem"),
    [
        ("int(4)", "does not take"),
        ("text(10)", "does not take"),
        ("numeric(5,6)", "scale <= precision"),
        ("numeric(0)", "precision"),
        ("varchar(0)", "at least 1"),
        ("timestamp(7)", "between 0 and 6"),
        ("float(54)", "between 1 and 53"),
    ],
)
def test_invalid_modifiers(pg_type: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        normalize_pg_type(pg_type)


def test_decimal_wider_than_flink_allows() -> None:
    assert normalize_pg_type("numeric(50,2)") == "numeric(50,2)"
    with pytest.raises(ConfigError, match="at most 38") as raised:
        flink_type("numeric(50,2)")
    assert raised.value.hint == "declare numeric(38,2) or less"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("int", "bigint"),
        ("integer", "int8"),
        ("smallint", "int"),
        ("smallint", "bigint"),
        ("varchar(10)", "varchar(20)"),
        ("varchar(10)", "character varying"),
        ("varchar(10)", "text"),
        ("varchar", "text"),
        ("numeric(10,2)", "numeric(12,2)"),
        ("numeric(10,2)", "numeric"),
        ("timestamp(3)", "timestamp(6)"),
        ("timestamp(3)", "timestamp"),
        ("timestamptz(0)", "timestamptz(3)"),
        ("int8", "bigint"),
        ("decimal(12, 2)", "numeric(12,2)"),
        ("text", "TEXT"),
    ],
)
def test_compatible_changes(old: str, new: str) -> None:
    assert compatible_change(old, new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("bigint", "int"),
        ("int", "smallint"),
        ("int", "numeric(10,0)"),
        ("int", "text"),
        ("varchar(20)", "varchar(10)"),
        ("varchar", "varchar(10)"),
        ("text", "varchar(10)"),
        ("char(3)", "varchar(3)"),
        ("numeric(12,2)", "numeric(10,2)"),
        ("numeric(10,2)", "numeric(12,3)"),
        ("numeric", "numeric(12,2)"),
        ("real", "double precision"),
        ("timestamp", "timestamp(3)"),
        ("timestamp", "timestamptz"),
        ("date", "timestamp"),
        ("int[]", "bigint[]"),
        ("int", "int[]"),
    ],
)
def test_incompatible_changes(old: str, new: str) -> None:
    assert not compatible_change(old, new)


def test_compatible_change_rejects_unknown_types() -> None:
    with pytest.raises(ConfigError, match="money"):
        compatible_change("money", "numeric")
