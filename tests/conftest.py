from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import write_profile
from warehouse.context import Context

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is marked `integration`; run unit tests first."""
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: "integration" in item.path.parts)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """One embedded stack (PostgreSQL + Flink + SQL Gateway) for the integration tests."""
    project = tmp_path_factory.mktemp("stack")
    write_profile(project)
    context = Context(project)
    context.up()
    try:
        yield context
    finally:
        context.down()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_profile(tmp_path)
    return tmp_path
