"""Freshness by canary rows: a known order inserted every `interval`, and each layer polled for its appearance.

Canary `k` is the order `CANARY_BASE + k` of shop `CANARY_SHOP` and user `CANARY_USER` (ids no generated order
uses), committed in its own transaction. A layer reports the highest canary it shows: the largest canary order id
in an order-grained table (ODS, DWD), the canary shop's order count in an aggregate (DWS, ADS). Canaries are never
updated or deleted, so that count is the highest canary visible. Freshness = the start of the first poll that shows
the canary minus the moment its commit returned; it over-states by at most one poll interval.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from warehouse.config import StoreConnection
from warehouse.demo.schema import SHOP_DATABASE
from warehouse.identifiers import pg
from warehouse.store import connect

CANARY_BASE = 1_000_000_000_000
CANARY_SHOP = 0
CANARY_USER = 0
CANARY_PRODUCT = 1
INSERT_CANARY = (
    "INSERT INTO public.orders (order_id, user_id, shop_id, product_id, buy_fee, order_status, create_time, "
    "update_time) VALUES (%s, %s, %s, %s, 1.00, 'created', localtimestamp(3), localtimestamp(3))"
)


@dataclass(frozen=True)
class Layer:
    """One layer of a contender and the query that returns the highest canary it shows."""

    name: str
    database: str
    query: sql.Composed


def order_grained(name: str, database: str, schema: str, table: str) -> Layer:
    query = sql.SQL("SELECT coalesce(max(order_id) - {base}, 0) FROM {} WHERE order_id >= {base}").format(
        pg(schema, table), base=sql.Literal(CANARY_BASE)
    )
    return Layer(name, database, query)


def shop_aggregate(name: str, database: str, schema: str, table: str, count_column: str) -> Layer:
    query = sql.SQL("SELECT coalesce(sum({}), 0) FROM {} WHERE shop_id = {}").format(
        pg(count_column), pg(schema, table), sql.Literal(CANARY_SHOP)
    )
    return Layer(name, database, query)


def example_layers(database: str, schema: str) -> list[Layer]:
    """DWD, DWS and ADS of the example's logic when all three live in one schema (the batch contenders)."""
    return [
        order_grained("dwd", database, schema, "dwd_orders"),
        shop_aggregate("dws", database, schema, "dws_shop_daily", "order_cnt"),
        shop_aggregate("ads", database, schema, "ads_shop_metrics", "total_orders"),
    ]


@dataclass
class Canaries:
    """Writes canaries and watches the layers for them, each in its own thread, until `stop()`."""

    store: StoreConnection
    layers: list[Layer]
    interval: float
    poll_interval: float
    committed: dict[int, float] = field(default_factory=dict)
    seen: dict[str, dict[int, float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        self.seen = {layer.name: {} for layer in self.layers}
        for target in (self._write, self._watch):
            thread = threading.Thread(target=self._guarded(target), daemon=True, name=f"bench-{target.__name__}")
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()

    def last(self) -> int:
        return max(self.committed, default=0)

    def visible(self, layer: str) -> int:
        return max(self.seen[layer], default=0)

    def latencies(self, layer: str, since: float, until: float) -> tuple[list[float], int]:
        """Freshness of the canaries committed in [since, until) in `layer`, and how many it never showed."""
        seen = self.seen[layer]
        keys = [k for k, at in list(self.committed.items()) if since <= at < until]
        found = [seen[k] - self.committed[k] for k in keys if k in seen]
        return found, len(keys) - len(found)

    def series(self, layer: str) -> list[tuple[float, float]]:
        """(commit time, freshness) of every canary `layer` showed."""
        seen = self.seen[layer]
        return [(self.committed[k], at - self.committed[k]) for k, at in sorted(seen.items()) if k in self.committed]

    def _guarded(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except (psycopg.Error, OSError) as exc:
                self.errors.append(f"{target.__name__}: {exc}")

        return run

    def _write(self) -> None:
        with connect(self.store, database=SHOP_DATABASE) as conn:
            sequence = 0
            while not self._stopping.wait(self.interval):
                sequence += 1
                conn.execute(INSERT_CANARY, [CANARY_BASE + sequence, CANARY_USER, CANARY_SHOP, CANARY_PRODUCT])
                self.committed[sequence] = time.time()

    def _watch(self) -> None:
        databases = {layer.database for layer in self.layers}
        connections = {name: connect(self.store, database=name) for name in databases}
        try:
            while not self._stopping.wait(self.poll_interval):
                for layer in self.layers:
                    self._poll(connections[layer.database], layer)
        finally:
            for conn in connections.values():
                conn.close()

    def _poll(self, conn: psycopg.Connection[Any], layer: Layer) -> None:
        started = time.time()
        try:
            row = conn.execute(layer.query).fetchone()
        except psycopg.Error:
            return  # e.g. a batch contender has not created (or is swapping) the table
        highest, seen = int(row[0]) if row and row[0] is not None else 0, self.seen[layer.name]
        for sequence in range(self.visible(layer.name) + 1, highest + 1):
            seen[sequence] = started
