"""Test helpers shared by unit and integration tests."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from warehouse.context import Context

SHARED_CACHE = Path("~/.cache/warehouse").expanduser()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_profile(project: Path, **target: Any) -> Path:
    """A profiles.yml with one target `test`: the embedded stack on free ports, the shared jar cache."""
    embedded = {
        "postgres_port": free_port(),
        "rest_port": free_port(),
        "gateway_port": free_port(),
        "rpc_port": free_port(),
        "mysql_port": free_port(),
        **target.pop("embedded", {}),
    }
    # An absolute home: copies of the project (tests edit models in copies) share the stack and its secrets.
    home = str((project / ".warehouse").resolve())
    profile = {
        "jar_cache": str(SHARED_CACHE),
        "home": home,
        "embedded": embedded,
        "checkpoint_interval": "2s",
        **target,
    }
    path = project / "profiles.yml"
    path.write_text(yaml.safe_dump({"target": "test", "targets": {"test": profile}}))
    return path


def eventually(check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.25) -> Any:
    """Poll until `check()` returns a truthy value; return it, or fail with the last value seen."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"condition not met within {timeout}s (last value: {value!r})"
    return value


def remove_jobs(context: Context) -> None:
    """The jobs of a project on the session's stack, removed at the end (as the shop fixture does)."""
    for record in context.lifecycle.registry.all().values():
        if set(record.members) & {model.name for model in context.project.models.values()}:
            context.engine.remove(record.job_id, [slot["name"] for slot in record.slots])


SCAFFOLD = Path(__file__).parents[1] / "warehouse" / "resources" / "scaffold"


def bare_project(folder: Path, profiles: Path) -> Path:
    """A project with no model yet: the scaffold's dbt_project.yml and macros, `profiles` (a stack's), and
    empty `models/ods` and `setup` folders for the test to fill."""
    shutil.copy(profiles, folder / "profiles.yml")
    shutil.copy(SCAFFOLD / "dbt_project.yml", folder / "dbt_project.yml")
    shutil.copytree(SCAFFOLD / "macros", folder / "macros")
    (folder / "models" / "ods").mkdir(parents=True)
    (folder / "setup").mkdir()
    return folder
