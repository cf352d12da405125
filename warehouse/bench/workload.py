"""Workload W1, recorded once and replayed identically for every contender.

The e-commerce demo's operations (orders, payments that follow their order with a random delay and sometimes
arrive before it, status updates, price corrections, deletes, product renames, Zipf-skewed shops), one JSON-lines
file per ladder step. A step is generated in chunks of at most `CHUNK_ORDERS` orders (each chunk a demo workload
with its own seed and id range), so that generating and replaying a large step needs little memory.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path

from pydantic import BaseModel

from warehouse.bench.config import BenchConfig
from warehouse.demo.generator import DemoConfig, Op, from_json_lines, generate, op_mix, to_json_lines
from warehouse.demo.schema import ORDERS, PRODUCT_CATALOG

Progress = Callable[[str], None]
CHUNK_ORDERS = 50_000
READ_LINES = 10_000
START = datetime(2024, 1, 1)
MANIFEST = "workload.json"


class StepInput(BaseModel):
    rate: int
    path: Path
    orders: int
    ops: int


class Workload(BaseModel):
    fingerprint: str
    products: Path
    product_count: int
    history: StepInput | None  # loaded at full speed before the contender starts
    steps: list[StepInput]
    op_mix: dict[str, int]
    renamed: dict[int, list[str]]  # product id -> every name it had, for products renamed at least once

    def step(self, rate: int) -> StepInput:
        return next(step for step in self.steps if step.rate == rate)


def record_workload(config: BenchConfig, folder: Path, say: Progress) -> Workload:
    """Generate and write the workload under `folder`, or reuse the one already there for the same settings."""
    folder.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(config)
    manifest = folder / MANIFEST
    if manifest.exists():
        recorded = Workload.model_validate_json(manifest.read_text())
        if recorded.fingerprint == fingerprint and all(step.path.exists() for step in recorded.steps):
            say(f"reusing the recorded workload in {folder}")
            return recorded
    workload = _Recorder(config, folder, fingerprint, say).record()
    manifest.write_text(workload.model_dump_json(indent=2))
    return workload


def read_ops(path: Path) -> Iterator[Op]:
    """The operations of a recorded file, read a slice at a time."""
    with path.open(encoding="utf-8") as lines:
        while chunk := list(islice(lines, READ_LINES)):
            yield from from_json_lines(chunk)


class _Recorder:
    def __init__(self, config: BenchConfig, folder: Path, fingerprint: str, say: Progress) -> None:
        self.config = config
        self.folder = folder
        self.fingerprint = fingerprint
        self.say = say
        self.next_id = 1
        self.mix: dict[str, int] = {}
        self.names: dict[int, set[str]] = {}

    def record(self) -> Workload:
        products = self._write_products()
        history = (
            self._write_step(0, 0, "history.jsonl", self.config.history_orders) if self.config.history_orders else None
        )
        ladder = enumerate(self.config.ladder, start=1)
        steps = [
            self._write_step(i, rate, f"step-{i:02d}-{rate}.jsonl", self.config.orders_in_step(rate))
            for i, rate in ladder
        ]
        renamed = {product: sorted(names) for product, names in self.names.items() if len(names) > 1}
        return Workload(
            fingerprint=self.fingerprint,
            products=products,
            product_count=self.config.products,
            history=history,
            steps=steps,
            op_mix=dict(sorted(self.mix.items())),
            renamed=renamed,
        )

    def _write_products(self) -> Path:
        path = self.folder / "products.jsonl"
        ops = [op for op in generate(self._chunk_config(0, 0, 1, 1)) if _is_product_insert(op)]
        self._count(ops)
        _write(path, ops)
        return path

    def _write_step(self, index: int, rate: int, name: str, orders: int) -> StepInput:
        """Part `index` of the workload (0 is the history) in the file `name`."""
        path = self.folder / name
        sizes = [min(CHUNK_ORDERS, orders - done) for done in range(0, orders, CHUNK_ORDERS)]
        written = 0
        with path.open("w", encoding="utf-8") as out:
            for chunk, size in enumerate(sizes):
                generated = generate(self._chunk_config(index, chunk, len(sizes), size))
                ops = [op for op in generated if not _is_product_insert(op)]
                self._count(ops)
                out.writelines(line + "\n" for line in to_json_lines(ops))
                written += len(ops)
                self.next_id += size
        self.say(f"recorded {name}: {orders:,} orders, {written:,} operations")
        return StepInput(rate=rate, path=path, orders=orders, ops=written)

    def _chunk_config(self, step: int, chunk: int, chunks: int, orders: int) -> DemoConfig:
        config = self.config
        return DemoConfig(
            seed=config.seed * 1_000_003 + step * 1_009 + chunk,
            n_orders=orders,
            n_users=config.users,
            n_shops=config.shops,
            shop_skew=config.shop_skew,
            n_products=config.products,
            product_rename_ratio=config.product_rename_ratio,
            first_id=self.next_id,
            start=START + timedelta(days=step + chunk / chunks),  # one business day per part
            days=1 / chunks,
        )

    def _count(self, ops: list[Op]) -> None:
        for kind, count in op_mix(ops).items():
            self.mix[kind] = self.mix.get(kind, 0) + count
        for op in ops:
            if op.table == PRODUCT_CATALOG.name:
                self.names.setdefault(op.key, set()).add(str(op.values["catalog_name"]))


def is_order_insert(op: Op) -> bool:
    return op.kind == "insert" and op.table == ORDERS.name


def _is_product_insert(op: Op) -> bool:
    return op.kind == "insert" and op.table == PRODUCT_CATALOG.name


def _write(path: Path, ops: list[Op]) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.writelines(line + "\n" for line in to_json_lines(ops))


def _fingerprint(config: BenchConfig) -> str:
    shape = config.model_dump(
        include={
            "ladder",
            "step_seconds",
            "history_orders",
            "seed",
            "users",
            "shops",
            "shop_skew",
            "products",
            "product_rename_ratio",
        }
    )
    return json.dumps(shape, sort_keys=True)
