"""`warehouse init`: the files it writes, the project's name, and what it refuses (the walkthrough in
tests/integration/test_walkthrough.py runs the result)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from warehouse.cli import cli
from warehouse.scaffold import project_name

NAMES = [
    # (folder name, project name)
    ("iot_warehouse", "iot_warehouse"),
    ("IoT Warehouse", "iot_warehouse"),
    ("my-shop.dw", "my_shop_dw"),
    ("2024", "wh_2024"),
    ("---", "warehouse"),
]


@pytest.mark.parametrize(("folder", "name"), NAMES)
def test_the_project_is_named_after_its_folder(tmp_path: Path, folder: str, name: str) -> None:
    assert project_name(tmp_path / folder) == name


def test_init_writes_a_project_for_the_embedded_stack(tmp_path: Path) -> None:
    folder = tmp_path / "IoT Warehouse"
    result = CliRunner().invoke(cli, ["init", str(folder)])
    assert result.exit_code == 0, result.output
    project = yaml.safe_load((folder / "dbt_project.yml").read_text())
    assert project["name"] == project["profile"] == "iot_warehouse" and "iot_warehouse" in project["models"]
    profile = yaml.safe_load((folder / "profiles.yml").read_text())
    assert profile["targets"]["dev"] == {"store": "embedded", "flink": "embedded", "home": ".warehouse"}
    models = sorted(path.name for path in (folder / "models").rglob("*.sql"))
    assert models == ["ads_device_metrics.sql", "dwd_readings.sql", "dws_device_daily.sql", "ods_readings.sql"]
    assert (folder / "setup" / "app.sql").is_file() and (folder / "unit_tests" / "dws_device_daily.yml").is_file()
    assert "__PROJECT__" not in "".join(path.read_text() for path in folder.rglob("*") if path.is_file())


def test_init_refuses_a_folder_that_holds_a_project(tmp_path: Path) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: mine\n")
    result = CliRunner().invoke(cli, ["init", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path / 'dbt_project.yml'} exists" in result.output
    assert (tmp_path / "dbt_project.yml").read_text() == "name: mine\n"
