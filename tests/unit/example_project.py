"""The example project copied to a temp folder, compiled without services (dbt + the compiler only)."""

from __future__ import annotations

import shutil
from pathlib import Path

from warehouse.compiler import CompiledJob, Compiler
from warehouse.config import StoreConnection, job_runtime_settings, load_settings
from warehouse.project import DbtProject

REPO = Path(__file__).resolve().parents[2]


def copy_example(folder: Path) -> Path:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, folder / name)
    shutil.copy(REPO / "dbt_project.yml", folder)
    return folder


def plan(project: Path, model: str) -> CompiledJob:
    settings = load_settings(project, environ={})
    dbt = DbtProject(settings)
    uid = f"model.shop_warehouse.{model}"
    compiled = dbt.compile([uid])
    runtime = job_runtime_settings(settings.profile, settings.state_uri)
    return Compiler(dbt, StoreConnection(), settings.profile.jobs, runtime).compile(dbt.models[uid], compiled[uid])


def edit(project: Path, relative: str, old: str, new: str) -> None:
    path = project / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
