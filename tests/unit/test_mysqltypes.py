"""The MySQL -> store type mapping, row by row: every value of the MySQL type fits the store type."""

from __future__ import annotations

import re

import pytest

from warehouse.errors import ConfigError
from warehouse.mysqltypes import pg_type
from warehouse.types import flink_type, normalize_pg_type


@pytest.mark.parametrize(
    ("mysql", "store"),
    [
        ("tinyint(4)", "smallint"),
        ("tinyint(1)", "smallint"),  # MySQL lets it hold 2..127: a number, never a lossy boolean
        ("tinyint(3) unsigned", "smallint"),
        ("smallint(6)", "smallint"),
        ("smallint(5) unsigned", "integer"),
        ("mediumint(8) unsigned", "integer"),
        ("int(11)", "integer"),
        ("int(10) unsigned", "bigint"),
        ("bigint(20)", "bigint"),
        ("bigint(20) unsigned", "numeric(20,0)"),
        ("bigint unsigned zerofill", "numeric(20,0)"),
        ("decimal(12,2)", "numeric(12,2)"),
        ("decimal(10,0) unsigned", "numeric(10,0)"),
        ("decimal", "numeric(10,0)"),
        ("float", "real"),
        ("double", "double precision"),
        ("date", "date"),
        ("datetime", "timestamp(0)"),
        ("datetime(6)", "timestamp(6)"),
        ("timestamp", "timestamptz(0)"),
        ("timestamp(3)", "timestamptz(3)"),
        ("time", "time"),
        ("year(4)", "smallint"),
        ("char(3)", "character(3)"),
        ("varchar(64)", "character varying(64)"),
        ("longtext", "text"),
        ("enum('a','b')", "text"),
        ("set('x','y')", "text"),
        ("json", "jsonb"),
        ("bit(1)", "boolean"),
        ("bit(8)", "bytea"),
        ("varbinary(16)", "bytea"),
        ("blob", "bytea"),
    ],
)
def test_each_mysql_type_maps_to_a_store_type_that_holds_it(mysql: str, store: str) -> None:
    assert pg_type(mysql) == store
    flink_type(normalize_pg_type(store))  # and a job can carry it


@pytest.mark.parametrize(
    ("mysql", "message"),
    [
        ("geometry", "the MySQL type geometry has no store type"),
        ("point", "the MySQL type point has no store type"),
        ("decimal(65,30)", "more digits than Flink's decimals (38)"),
    ],
)
def test_a_type_no_store_type_keeps_is_refused_with_the_fix(mysql: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        pg_type(mysql)
    assert caught.value.hint and "exclude the table from the sync" in caught.value.hint
