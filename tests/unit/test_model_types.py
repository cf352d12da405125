"""Types a model's sink cannot write are refused when the project is read, naming the model file, the column
and the fix, instead of jobs that FAIL at run time (row by row for the rule; a copy of the example for the
error; no service needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from warehouse.context import Context
from warehouse.project import ModelError
from warehouse.types import unwritable

REPO = Path(__file__).resolve().parents[2]
TYPES = [
    # (declared type of a model column, refused)
    ("timestamptz", True),
    ("timestamp with time zone", True),
    ("timestamptz(3)", True),
    ("timestamp(6)", False),
    ("timestamp", False),
    ("timestamp(3)", False),
    ("date", False),
    ("numeric(12,2)", False),
    ("text", False),
]


@pytest.mark.parametrize(("pg_type", "refused"), TYPES)
def test_what_the_jdbc_sink_cannot_write(pg_type: str, refused: bool) -> None:
    assert (unwritable(pg_type) is not None) == refused


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
