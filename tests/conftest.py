from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import write_profile
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig, generate
from warehouse.demo.live import prepare_shop
from warehouse.demo.loader import apply
from warehouse.secrets import STORE_PASSWORD, secret_path
from warehouse.store import connect

REPO = Path(__file__).resolve().parents[1]
WORKLOAD = DemoConfig(seed=11, n_orders=1500, n_users=80, n_shops=12, n_products=40)

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/integration is marked `integration`; run unit tests first."""
    for item in items:
        if "integration" in item.path.parts:
            item.add_marker(pytest.mark.integration)
    items.sort(key=lambda item: "integration" in item.path.parts)


SENTINEL_PASSWORD = "Sentinel-7f3a9c-never-on-disk"


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """One embedded stack (PostgreSQL + Flink + SQL Gateway) for the integration tests. Its store password is a
    sentinel (the stack uses a password it finds in its secrets folder), which test_doors greps for."""
    project = tmp_path_factory.mktemp("stack")
    write_profile(project)
    context = Context(project)
    secret = secret_path(context.settings.profile.home, STORE_PASSWORD)
    secret.parent.mkdir(parents=True, mode=0o700)
    secret.write_text(SENTINEL_PASSWORD)
    secret.chmod(0o600)
    context.up()
    try:
        yield context
    finally:
        context.down()


@pytest.fixture(scope="session")
def shop(stack: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """The example warehouse running on the session's stack, fed with WORKLOAD; a copy of the project,
    so tests may edit models. Its jobs are removed at the end."""
    project = copy_project(REPO, tmp_path_factory.mktemp("shop"), stack.project_dir / "profiles.yml")
    context = Context(project)
    start_example(context, WORKLOAD)
    yield context
    for record in context.lifecycle.registry.all().values():
        context.engine.remove(record.job_id, [slot["name"] for slot in record.slots])


def start_example(context: Context, workload: DemoConfig) -> None:
    """Fresh OLTP tables fed with `workload` (products first), every job started over them, the same workload's
    changes fed once more while they run, and every layer drained to the oracle."""
    prepare_shop(context.store)
    feed(context, workload, products=True)
    context.run(full_refresh=True)
    feed(context, workload, products=False)
    assert_drains_to_oracle(context)


def copy_project(source: Path, target: Path, profiles: Path) -> Path:
    """The parts of a warehouse project that dbt and the warehouse read, plus a profiles.yml."""
    for name in ("models", "macros", "tests/data", "unit_tests"):
        if (source / name).exists():
            shutil.copytree(source / name, target / name)
    shutil.copy(source / "dbt_project.yml", target)
    if profiles.resolve() != (target / "profiles.yml").resolve():
        shutil.copy(profiles, target / "profiles.yml")
    return target


def feed(context: Context, config: DemoConfig, products: bool) -> None:
    """Apply the products, or the rest, of a generated workload to the shop database."""
    ops = [op for op in generate(config) if (op.table == "product_catalog") == products]
    with connect(context.store, database="shop") as conn:
        apply(conn, ops)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_profile(tmp_path)
    return tmp_path
