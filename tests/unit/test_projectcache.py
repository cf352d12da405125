"""The parsed project is kept between commands: a second command reads it without dbt, and any change to
what dbt reads (or a project reading environment variables) parses again."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from warehouse import projectcache
from warehouse.context import Context
from warehouse.project import DbtProject

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "dbt_project.yml", tmp_path)
    return tmp_path


def key(project: Path, context: str = "dev") -> str | None:
    files = projectcache.dbt_inputs(project, {})
    return projectcache.fingerprint(project, files, context)


def test_the_fingerprint_follows_what_dbt_reads(project: Path) -> None:
    first = key(project)
    (project / "README.md").write_text("not read by dbt")
    assert key(project) == first
    assert key(project, "prod") != first
    model = project / "models" / "ods" / "ods_orders.sql"
    model.write_text(model.read_text() + "\n-- a comment\n")
    assert key(project) not in (first, None)
    model.write_text(model.read_text() + "{{ env_var('SHOP_DB', 'shop') }}\n")
    assert key(project) is None  # environment variables are not in any file: never cached


def test_a_second_command_reads_the_parsed_project_without_dbt(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Context(project, progress=lambda message: None)
    models, compiled = first.project.models, first.project.compile(list(first.project.models))

    def no_dbt(self: DbtProject, args: list[str], manifest: bool = False, check: bool = True) -> None:
        raise AssertionError(f"dbt was invoked: {args}")

    monkeypatch.setattr(DbtProject, "_invoke", no_dbt)
    second = Context(project, progress=lambda message: None)
    assert second.project.models == models
    assert second.project.compile(list(models)) == compiled
    model = project / "models" / "ods" / "ods_orders.sql"
    model.write_text(model.read_text().replace("SELECT", "SELECT /* edited */", 1))
    with pytest.raises(AssertionError, match="dbt was invoked"):
        _ = Context(project, progress=lambda message: None).project.models
