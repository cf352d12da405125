"""Types no job could carry without loss are refused when the project is read, naming the file, the column and
the fix, instead of jobs that FAIL at run time or lose a fraction (row by row for the rule; a copy of the example
for the error; no service needed). What is accepted goes through a live job exactly: test_walkthrough.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from warehouse.context import Context
from warehouse.identifiers import unquotable_problem
from warehouse.project import ModelError
from warehouse.types import unsupported

REPO = Path(__file__).resolve().parents[2]
TYPES = [
    # (declared type, refused in a model (written by a sink), refused in a source (read through CDC only))
    ("timestamptz", True, False),
    ("timestamp with time zone", True, False),
    ("timestamptz(3)", True, False),
    ("time(3)", True, False),
    ("time", False, False),
    ("time(0)", False, False),
    ("integer[]", True, True),
    ("text[]", True, True),
    ("timestamp(6)", False, False),
    ("timestamp", False, False),
    ("timestamp(3)", False, False),
    ("date", False, False),
    ("numeric(12,2)", False, False),
    ("numeric", False, False),
    ("json", False, False),
    ("jsonb", False, False),
    ("uuid", False, False),
    ("bytea", False, False),
    ("text", False, False),
]


@pytest.mark.parametrize(("pg_type", "in_model", "in_source"), TYPES)
def test_what_no_job_could_carry_without_loss(pg_type: str, in_model: bool, in_source: bool) -> None:
    assert (unsupported(pg_type, written=True) is not None) == in_model
    assert (unsupported(pg_type, written=False) is not None) == in_source


def test_a_timestamptz_model_column_is_refused_with_the_fix(tmp_path: Path) -> None:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "dbt_project.yml", tmp_path)
    schema = tmp_path / "models" / "ods" / "ods.yml"
    declared = '{name: updated_at, data_type: "timestamp(3)"}'
    assert declared in schema.read_text()
    schema.write_text(schema.read_text().replace(declared, "{name: updated_at, data_type: timestamptz}"))
    context = Context(tmp_path, progress=lambda message: None)
    with pytest.raises(ModelError) as caught:
        _ = context.project.models
    assert caught.value.where == "models/ods/ods_product_catalog.sql"
    assert "column 'updated_at' (timestamptz): Flink's JDBC sink cannot write TIMESTAMP_LTZ" in caught.value.message
    assert caught.value.hint and caught.value.hint.startswith("declare it `timestamp(6)`")


NAMES = [
    # (a model column's name, why it is refused, or None)
    ("order_status", None),
    ("model", None),  # reserved by Flink, not by PostgreSQL: the SELECT writes it in backticks (README)
    ("value", None),
    ("timestamp", None),
    ("order", "is a PostgreSQL reserved word"),
    ("user", "is a PostgreSQL reserved word"),
    ("DeviceId", "must be lower-case snake_case"),
    ("device id", "must be lower-case snake_case"),
]


@pytest.mark.parametrize(("name", "problem"), NAMES)
def test_what_names_can_travel_unquoted_through_the_jdbc_connector(name: str, problem: str | None) -> None:
    assert unquotable_problem(name) == problem


def test_a_model_column_named_by_a_postgres_reserved_word_is_refused_with_the_fix(tmp_path: Path) -> None:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "dbt_project.yml", tmp_path)
    schema = tmp_path / "models" / "ods" / "ods.yml"
    schema.write_text(schema.read_text().replace("{name: catalog_name,", "{name: user,"))
    with pytest.raises(ModelError) as caught:
        _ = Context(tmp_path, progress=lambda message: None).project.models
    assert caught.value.where == "models/ods/ods_product_catalog.sql"
    assert caught.value.message.startswith("column 'user' is a PostgreSQL reserved word")
