"""The example warehouse end to end: ODS -> DWD -> DWS -> ADS as continuous jobs, checked against the
independent oracle (tests/integration/oracle.py: the business logic restated in PostgreSQL SQL over the
OLTP tables), then re-run unchanged, then upgraded one model at a time."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.oracle import ORACLE, actual_rows, diff, oracle_rows
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig, generate
from warehouse.demo.live import prepare_shop
from warehouse.demo.loader import apply
from warehouse.store import connect

REPO = Path(__file__).resolve().parents[2]
WORKLOAD = DemoConfig(seed=11, n_orders=1500, n_users=80, n_shops=12, n_products=40)
MORE = DemoConfig(seed=12, n_orders=400, n_users=80, n_shops=12, n_products=40, first_id=100_000)


@pytest.fixture(scope="module")
def shop(stack: Context, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """A copy of the example project (so tests may edit models), on the session's stack."""
    project = tmp_path_factory.mktemp("shop")
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, project / name)
    shutil.copy(REPO / "dbt_project.yml", project)
    shutil.copy(stack.project_dir / "profiles.yml", project)
    context = Context(project)
    yield context
    for record in context.runner.registry.all().values():
        context.engine.remove(record.job_id, [slot["name"] for slot in record.slots])


def differences(context: Context) -> str:
    store = context.settings.profile.store_connection()
    problems = []
    with connect(store, database="shop") as shop_db, connect(store) as warehouse_db:
        for table, spec in ORACLE.items():
            found = diff(oracle_rows(shop_db, table), actual_rows(warehouse_db, table), len(spec.key), spec.columns)
            if found:
                problems.append(f"{table}: {found}")
    return "\n".join(problems)


def assert_drains_to_oracle(context: Context, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    problems = differences(context)
    while problems and time.monotonic() < deadline:
        time.sleep(2)
        problems = differences(context)
    assert not problems, f"layers differ from the oracle after {timeout:.0f}s:\n{problems}"


def job_ids(context: Context) -> dict[str, str | None]:
    return {name: record.job_id for name, record in context.runner.registry.all().items()}


def feed(context: Context, config: DemoConfig, products: bool) -> None:
    ops = [op for op in generate(config) if (op.table == "product_catalog") == products]
    with connect(context.settings.profile.store_connection(), database="shop") as conn:
        apply(conn, ops)


def test_every_layer_equals_the_oracle(shop: Context) -> None:
    prepare_shop(shop.settings.profile.store_connection())
    feed(shop, WORKLOAD, products=True)
    actions = shop.run(full_refresh=True)
    assert {a.action for a in actions} <= {"started", "rebuilt"}
    assert len(actions) == 8
    feed(shop, WORKLOAD, products=False)  # orders, payments (10% before their order), updates, deletes
    assert_drains_to_oracle(shop)
    with connect(shop.settings.profile.store_connection(), database="shop") as conn:
        early = conn.execute("SELECT count(*) FROM orders_pay").fetchone()
    assert early and early[0] > 0


def test_second_run_restarts_nothing(shop: Context) -> None:
    before = job_ids(shop)
    actions = shop.run()
    assert {a.action for a in actions} == {"unchanged"}, actions
    assert job_ids(shop) == before


def test_changing_one_dws_model_upgrades_only_that_job(shop: Context) -> None:
    before = job_ids(shop)
    model = shop.project_dir / "models" / "dws" / "dws_shop_daily.sql"
    model.write_text(
        model.read_text().replace("WHERE shop_id IS NOT NULL", "WHERE shop_id IS NOT NULL AND buy_fee >= 0")
    )
    shop.refresh()
    actions = {a.model: a for a in shop.run()}
    assert actions["dws_shop_daily"].action == "rebuilt"
    assert all(a.action == "unchanged" for name, a in actions.items() if name != "dws_shop_daily"), actions
    after = job_ids(shop)
    assert after["dws_shop_daily"] != before["dws_shop_daily"]
    assert {k: v for k, v in after.items() if k != "dws_shop_daily"} == {
        k: v for k, v in before.items() if k != "dws_shop_daily"
    }
    feed(shop, MORE, products=False)
    assert_drains_to_oracle(shop)
