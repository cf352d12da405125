"""Blue/green deploys (lifecycle/bluegreen.py): a breaking change never empties a table that applications read.

While orders keep arriving, a reader polls ads_shop_metrics (as applications do, point lookups on the ADS layer):
it never sees the table empty or without a shop it had before the deploy began. A new version that fails while it
is built is given up: the live version keeps serving, and nothing of the new one is left behind."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import feed
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.catalog import PUBLICATION
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig
from warehouse.errors import WarehouseError
from warehouse.lifecycle.bluegreen import NEXT, SHADOW_SUFFIX
from warehouse.store import connect

MODEL = Path("models") / "dws" / "dws_shop_daily.sql"


class Feeder(threading.Thread):
    """Small batches of new orders, payments and updates, until stopped (the demo workload, fed live)."""

    def __init__(self, context: Context, first_id: int) -> None:
        super().__init__(daemon=True)
        self.context, self.first_id, self.done, self.batches = context, first_id, threading.Event(), 0

    def run(self) -> None:
        while not self.done.is_set():
            first = self.first_id + self.batches * 100
            batch = DemoConfig(seed=first, n_orders=15, n_users=80, n_shops=12, n_products=40, first_id=first)
            feed(self.context, batch, products=False)
            self.batches += 1
            time.sleep(0.3)


class Reader(threading.Thread):
    """Polls ads_shop_metrics as the read-only role, recording the shops of every poll."""

    def __init__(self, context: Context) -> None:
        super().__init__(daemon=True)
        self.context, self.done = context, threading.Event()
        self.polls: list[tuple[float, set[int]]] = []
        self.errors: list[str] = []

    def run(self) -> None:
        reader = self.context.store.reader
        assert reader is not None
        store = self.context.store.model_copy(update={"user": reader.user, "password": reader.password})
        with connect(store, autocommit=True) as conn:
            while not self.done.is_set():
                try:
                    rows = conn.execute("SELECT shop_id FROM ads.ads_shop_metrics").fetchall()
                    self.polls.append((time.monotonic(), {int(shop) for (shop,) in rows}))
                except Exception as exc:
                    self.errors.append(str(exc))
                time.sleep(0.02)


def longest_absence(polls: list[tuple[float, set[int]]], served: set[int]) -> float:
    """The longest time (s) any of the `served` shops was missing from consecutive polls. A live aggregate that
    re-aggregates a key sends its sink a DELETE and an INSERT, which two flushes (100 ms apart) may write
    separately: a point reader can miss a key for about a flush, deploy or not. A swap must add nothing longer."""
    longest, gone = 0.0, dict[int, float]()
    for when, seen in polls:
        for shop in served:
            if shop not in seen:
                gone.setdefault(shop, when)
            elif shop in gone:
                longest = max(longest, when - gone.pop(shop))
    return max([longest, *(polls[-1][0] - since for since in gone.values())]) if polls else 0.0


def shops(context: Context) -> set[int]:
    with connect(context.store) as conn:
        return {int(shop) for (shop,) in conn.execute("SELECT shop_id FROM ads.ads_shop_metrics")}


def leftovers(context: Context) -> dict[str, list[Any]]:
    """Anything of a new version or of a replaced job still around: schemas, registry rows, slots, publications,
    Flink jobs no record names."""
    records = context.lifecycle.registry.all()
    recorded_slots = {slot["name"] for record in records.values() for slot in record.slots}
    job_ids = {record.job_id for record in records.values()}
    with connect(context.store) as conn:
        schemas = column(conn, "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", f"%{SHADOW_SUFFIX}")
        slots = column(conn, "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE %s", "wh%")
        publications = column(conn, "SELECT pubname FROM pg_publication WHERE pubname <> %s", PUBLICATION)
    with connect(context.store, database="shop") as conn:
        publications += column(conn, "SELECT pubname FROM pg_publication WHERE pubname <> %s", PUBLICATION)
    running = [job.job_id for job in context.jobmanager.jobs() if job.state == "RUNNING"]
    return {
        "shadow schemas": schemas,
        "next versions": [name for name in records if name.endswith(NEXT)],
        "slots without a job": [s for s in slots if s not in recorded_slots and not s.startswith("wh_explore")],
        "publications without a job": [p for p in publications if p not in recorded_slots],
        "jobs without a record": [j for j in running if j not in job_ids],
    }


def column(conn: Any, query: str, *params: str) -> list[str]:
    return [str(value) for (value,) in conn.execute(query, list(params))]


def nothing_left(context: Context) -> None:
    found = {what: items for what, items in leftovers(context).items() if items}
    assert not found, found


def edit(context: Context, old: str, new: str) -> None:
    path = context.project_dir / MODEL
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    context.refresh()


def test_a_failing_new_version_is_given_up_and_the_live_one_keeps_serving(shop: Context) -> None:
    before_record = shop.lifecycle.registry.all()["dws_shop_daily"]
    served = shops(shop)
    edit(shop, "COUNT(*) AS order_cnt", "COUNT(*) / (COUNT(*) - COUNT(*)) AS order_cnt")  # fails on its first row
    plan = {step.name: step for step in shop.plan().steps}
    assert plan["dws_shop_daily"].beside and plan["dws_shop_daily"].action == "rebuild"
    assert not plan["dws_shop_daily"].decision.destructive
    try:
        with pytest.raises(WarehouseError, match=r"was not swapped in.*the live version keeps serving") as failed:
            shop.run(deploy_timeout=120)
        assert "ArithmeticException" in failed.value.message or "by zero" in failed.value.message, failed.value
        record = shop.lifecycle.registry.all()["dws_shop_daily"]
        assert record.job_id == before_record.job_id
        assert shop.jobmanager.state(str(record.job_id)) == "RUNNING"
        assert shops(shop) >= served
        nothing_left(shop)
    finally:
        edit(shop, "COUNT(*) / (COUNT(*) - COUNT(*)) AS order_cnt", "COUNT(*) AS order_cnt")
    assert {a.action for a in shop.run()} == {"unchanged"}  # the live version was never touched
    assert_drains_to_oracle(shop)


def test_a_breaking_change_is_swapped_in_while_applications_read(shop: Context) -> None:
    """dws_shop_daily's job (with ads_shop_metrics, dws_user_daily and ads_user_metrics) is rebuilt beside its
    live tables while orders arrive; the reader never sees ads_shop_metrics empty or missing a shop."""
    served = shops(shop)
    assert served
    old = shop.lifecycle.registry.all()["dws_shop_daily"]
    edit(shop, "COUNT(*) AS order_cnt", "COUNT(order_id) AS order_cnt")  # the same numbers, a new query
    feeder, reader = Feeder(shop, 700_000), Reader(shop)
    feeder.start()
    reader.start()
    try:
        time.sleep(1)
        actions = {a.model: a.action for a in shop.run()}
    finally:
        feeder.done.set()
        feeder.join()
        time.sleep(1)
        reader.done.set()
        reader.join()
    assert {m: a for m, a in actions.items() if a != "unchanged"} == dict.fromkeys(old.members, "swapped"), actions
    assert feeder.batches > 0 and len(reader.polls) > 50, (feeder.batches, len(reader.polls))
    assert not reader.errors, reader.errors[:3]
    assert all(poll for _, poll in reader.polls), "a poll saw ads_shop_metrics empty"
    assert longest_absence(reader.polls, served) < 1.0, "a shop was missing from ads_shop_metrics for a second or more"
    record = shop.lifecycle.registry.all()["dws_shop_daily"]
    assert record.job_id != old.job_id and record.spec["slot_set"] != old.spec.get("slot_set", "")
    assert shop.jobmanager.state(str(old.job_id)) in ("CANCELED", "FINISHED")
    nothing_left(shop)
    assert_drains_to_oracle(shop)
    assert {a.action for a in shop.run()} == {"unchanged"}  # the swapped job is what the project compiles to
    edit(shop, "COUNT(order_id) AS order_cnt", "COUNT(*) AS order_cnt")  # back, for the tests that follow
    assert {a.action for a in shop.run() if a.action != "unchanged"} == {"swapped"}
    assert shop.lifecycle.registry.all()["dws_shop_daily"].spec["slot_set"] == old.spec.get("slot_set", "")
    nothing_left(shop)
    assert_drains_to_oracle(shop)
