"""A deterministic e-commerce workload: a list of row operations on the shop's OLTP tables.

The same config (seed included) always yields the same operations, and the operations serialize to JSON lines,
so a workload can be recorded once and replayed identically.

How a workload is built: every order is planned up front as a set of events placed on a shared axis measured in
"orders" (order `i` is inserted at position `i`); its payment lands a little after it (or, for some, a little
before), and status changes, price corrections and a deletion land later. Sorting the events by position and
replaying them against the live state drops what no longer applies (changes to a deleted order, a payment for a
deleted order), so that every update and delete targets a row that exists at that point.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from warehouse.demo.schema import ORDERS, ORDERS_PAY, PRODUCT_CATALOG, SHOP_TABLES

OpKind = Literal["insert", "update", "delete"]
Value = str | int
Row = dict[str, Value]
Action = Literal["order", "pay", "change", "delete", "rename"]

CATALOGS = ("electronics", "books", "clothing", "home", "toys", "sports", "beauty", "grocery", "garden", "music")
PAY_PLATFORMS = ("alipay", "wechat", "card", "paypal")
PAY_PLATFORM_WEIGHTS = (45, 35, 15, 5)
PAID_CHAIN = ("paid", "shipped", "completed")

# Mean delays, in orders, between an order and its later events.
PAY_LAG = 20.0
STATUS_LAG = 200.0
PRICE_LAG = 50.0
DELETE_LAG = 300.0


class DemoConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int = 42
    n_orders: int = Field(default=10_000, ge=1)
    n_users: int = Field(default=1_000, ge=1)
    n_shops: int = Field(default=100, ge=1)
    shop_skew: float = Field(default=1.2, ge=0, description="Zipf exponent of the shop choice; 0 is uniform")
    n_products: int = Field(default=200, ge=1)
    pay_ratio: float = Field(default=0.7, ge=0, le=1, description="share of orders that get a payment")
    pay_before_order_ratio: float = Field(
        default=0.1, ge=0, le=1, description="share of payments inserted before the order"
    )
    status_update_ratio: float = Field(default=0.3, ge=0, le=1, description="share of orders whose status moves on")
    price_correction_ratio: float = Field(
        default=0.05, ge=0, le=1, description="share of orders whose buy_fee is corrected"
    )
    delete_ratio: float = Field(default=0.05, ge=0, le=1, description="share of orders deleted (with their payment)")
    product_rename_ratio: float = Field(default=0.0, ge=0, le=1, description="share of products renamed once")
    first_id: int = Field(default=1, ge=1, description="first order id and pay id (to append a second workload)")
    start: datetime = datetime(2024, 1, 1)
    days: float = Field(default=3.0, gt=0, description="order create_time is spread over this many days from `start`")


@dataclass(frozen=True, slots=True)
class Op:
    """One row change. `key` is the table's primary key; inserts carry every column, updates the changed ones."""

    kind: OpKind
    table: str
    key: int
    values: Row = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Event:
    position: float
    sequence: int
    action: Action
    key: int
    values: Row


def generate(config: DemoConfig | None = None) -> list[Op]:
    """The whole workload: every product first, then the interleaved order/payment/update/delete stream."""
    config = config or DemoConfig()
    planner = _Planner(config)
    products = planner.products()
    events = planner.events()
    return products + list(_Replayer(config.first_id).run(events))


class _Planner:
    def __init__(self, config: DemoConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.ms_per_order = config.days * 86_400_000 / config.n_orders
        self.shop_cumulative = list(accumulate(1 / rank**config.shop_skew for rank in range(1, config.n_shops + 1)))
        self.catalog_of: dict[int, str] = {}
        self.planned: list[_Event] = []

    def products(self) -> list[Op]:
        start = _timestamp(self.config.start)
        ops = []
        for product_id in range(1, self.config.n_products + 1):
            self.catalog_of[product_id] = self.rng.choice(CATALOGS)
            row: Row = {"product_id": product_id, "catalog_name": self.catalog_of[product_id], "updated_at": start}
            ops.append(Op("insert", PRODUCT_CATALOG.name, product_id, row))
        return ops

    def events(self) -> list[_Event]:
        for index in range(self.config.n_orders):
            self._plan_order(index)
        for product_id in range(1, self.config.n_products + 1):
            if self.rng.random() < self.config.product_rename_ratio:
                self._plan_rename(product_id)
        return sorted(self.planned, key=lambda event: (event.position, event.sequence))

    def _add(self, position: float, action: Action, key: int, values: Row | None = None) -> None:
        self.planned.append(_Event(position, len(self.planned), action, key, values or {}))

    def _time(self, position: float) -> datetime:
        return self.config.start + timedelta(milliseconds=round(position * self.ms_per_order))

    def _stamp(self, position: float) -> str:
        return _timestamp(self._time(position))

    def _plan_order(self, index: int) -> None:
        order_id = self.config.first_id + index
        created = self._time(index + self.rng.random())
        cents = self.rng.randint(100, 50_000)
        row: Row = {
            "order_id": order_id,
            "user_id": self.rng.randint(1, self.config.n_users),
            "shop_id": bisect_left(self.shop_cumulative, self.rng.random() * self.shop_cumulative[-1]) + 1,
            "product_id": self.rng.randint(1, self.config.n_products),
            "buy_fee": _money(cents),
            "order_status": "created",
            "create_time": _timestamp(created),
            "update_time": _timestamp(created),
        }
        self._add(index, "order", order_id, row)
        paid_at = self._plan_payment(index, order_id, created)
        self._plan_status_changes(index if paid_at is None else max(index, paid_at), order_id, paid_at is not None)
        self._plan_price_correction(index, order_id, cents)
        if self.rng.random() < self.config.delete_ratio:
            self._add(index + 1 + self.rng.expovariate(1 / DELETE_LAG), "delete", order_id)

    def _plan_payment(self, index: int, order_id: int, created: datetime) -> float | None:
        if self.rng.random() >= self.config.pay_ratio:
            return None
        lag = 0.5 + self.rng.expovariate(1 / PAY_LAG)
        position = index - lag if self.rng.random() < self.config.pay_before_order_ratio else index + lag
        # pay_id is assigned when the payment is actually inserted, so that pay ids grow with time.
        row: Row = {
            "order_id": order_id,
            "pay_platform": self.rng.choices(PAY_PLATFORMS, PAY_PLATFORM_WEIGHTS)[0],
            "pay_time": _timestamp(created + timedelta(seconds=self.rng.randint(5, 900))),
        }
        self._add(position, "pay", order_id, row)
        return position

    def _plan_status_changes(self, after: float, order_id: int, paid: bool) -> None:
        if self.rng.random() >= self.config.status_update_ratio:
            return
        chain = PAID_CHAIN[: self.rng.randint(1, len(PAID_CHAIN))] if paid else ("cancelled",)
        position = after
        for status in chain:
            position += 1 + self.rng.expovariate(1 / STATUS_LAG)
            self._add(position, "change", order_id, {"order_status": status, "update_time": self._stamp(position)})

    def _plan_price_correction(self, index: int, order_id: int, cents: int) -> None:
        if self.rng.random() >= self.config.price_correction_ratio:
            return
        corrected = max(1, round(cents * self.rng.uniform(0.8, 1.2)))
        corrected = corrected + 1 if corrected == cents else corrected
        position = index + 1 + self.rng.expovariate(1 / PRICE_LAG)
        self._add(position, "change", order_id, {"buy_fee": _money(corrected), "update_time": self._stamp(position)})

    def _plan_rename(self, product_id: int) -> None:
        name = self.rng.choice([catalog for catalog in CATALOGS if catalog != self.catalog_of[product_id]])
        position = self.rng.uniform(0, self.config.n_orders)
        self._add(position, "rename", product_id, {"catalog_name": name, "updated_at": self._stamp(position)})


class _Replayer:
    """Turns positioned events into operations, skipping what no longer applies to the live state."""

    def __init__(self, first_pay_id: int = 1) -> None:
        self.live_orders: set[int] = set()
        self.deleted_orders: set[int] = set()
        self.pay_id_of: dict[int, int] = {}
        self.next_pay_id = first_pay_id

    def run(self, events: Iterable[_Event]) -> Iterator[Op]:
        handlers = {
            "order": self._on_order,
            "pay": self._on_pay,
            "change": self._on_change,
            "delete": self._on_delete,
            "rename": self._on_rename,
        }
        for event in events:
            yield from handlers[event.action](event)

    def _on_order(self, event: _Event) -> Iterator[Op]:
        self.live_orders.add(event.key)
        yield Op("insert", ORDERS.name, event.key, event.values)

    def _on_pay(self, event: _Event) -> Iterator[Op]:
        if event.key in self.deleted_orders:
            return
        pay_id, self.next_pay_id = self.next_pay_id, self.next_pay_id + 1
        self.pay_id_of[event.key] = pay_id
        yield Op("insert", ORDERS_PAY.name, pay_id, {"pay_id": pay_id, **event.values})

    def _on_change(self, event: _Event) -> Iterator[Op]:
        if event.key in self.live_orders:
            yield Op("update", ORDERS.name, event.key, event.values)

    def _on_delete(self, event: _Event) -> Iterator[Op]:
        self.live_orders.discard(event.key)
        self.deleted_orders.add(event.key)
        yield Op("delete", ORDERS.name, event.key)
        if event.key in self.pay_id_of:
            yield Op("delete", ORDERS_PAY.name, self.pay_id_of.pop(event.key))

    def _on_rename(self, event: _Event) -> Iterator[Op]:
        yield Op("update", PRODUCT_CATALOG.name, event.key, event.values)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


# ---- serialization --------------------------------------------------------------------------------


def to_json_lines(ops: Iterable[Op]) -> Iterator[str]:
    """One compact JSON object per operation, without the trailing newline."""
    for op in ops:
        yield json.dumps(
            {"kind": op.kind, "table": op.table, "key": op.key, "values": op.values}, separators=(",", ":")
        )


def from_json_lines(lines: Iterable[str]) -> list[Op]:
    return [_op_from_json(line) for line in lines if line.strip()]


def write_ops(path: Path, ops: Iterable[Op]) -> int:
    """Record a workload as JSON lines; return how many operations were written."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for line in to_json_lines(ops):
            out.write(line + "\n")
            count += 1
    return count


def read_ops(path: Path) -> list[Op]:
    with path.open(encoding="utf-8") as lines:
        return from_json_lines(lines)


def _op_from_json(line: str) -> Op:
    data = json.loads(line)
    kind, table, key, values = data["kind"], data["table"], data["key"], data["values"]
    if kind not in get_args(OpKind) or table not in SHOP_TABLES or not isinstance(key, int):
        raise ValueError(f"not a shop operation: {line.strip()[:200]}")
    return Op(kind, table, key, dict(values))


# ---- inspecting a workload -------------------------------------------------------------------------


def op_mix(ops: Iterable[Op]) -> dict[str, int]:
    """How many operations of each kind per table, e.g. {"insert orders": 10000, ...}."""
    counts = Counter(f"{op.kind} {op.table}" for op in ops)
    return dict(sorted(counts.items()))


def replay(ops: Iterable[Op]) -> dict[str, dict[int, Row]]:
    """The final content of each table after the operations, keyed by primary key.

    Raises ValueError on an operation the database would reject or ignore: an insert of an existing key, an update
    or delete of a missing one, a second payment for the same order.
    """
    tables: dict[str, dict[int, Row]] = {name: {} for name in SHOP_TABLES}
    for position, op in enumerate(ops):
        rows = tables[op.table]
        if (op.key in rows) != (op.kind != "insert"):
            raise ValueError(f"operation {position} ({op.kind} {op.table} {op.key}) does not match the table")
        if op.kind == "insert":
            rows[op.key] = dict(op.values)
        elif op.kind == "update":
            rows[op.key].update(op.values)
        else:
            del rows[op.key]
    _check_one_payment_per_order(tables[ORDERS_PAY.name])
    return tables


def _check_one_payment_per_order(payments: dict[int, Row]) -> None:
    orders = Counter(row["order_id"] for row in payments.values())
    twice = [order_id for order_id, count in orders.items() if count > 1]
    if twice:
        raise ValueError(f"orders with more than one payment: {twice[:10]}")
