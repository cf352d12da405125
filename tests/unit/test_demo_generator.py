from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pydantic
import pytest

from warehouse.demo.generator import (
    DemoConfig,
    Op,
    from_json_lines,
    generate,
    op_mix,
    read_ops,
    replay,
    to_json_lines,
    write_ops,
)

DEFAULT_OPS = generate()


def order_inserts(ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.kind == "insert" and op.table == "orders"]


def payment_inserts(ops: list[Op]) -> list[Op]:
    return [op for op in ops if op.kind == "insert" and op.table == "orders_pay"]


def test_same_seed_same_workload_other_seed_other_workload() -> None:
    config = DemoConfig(seed=3, n_orders=500)
    assert generate(config) == generate(config)
    assert generate(config) != generate(config.model_copy(update={"seed": 4}))
    assert generate() == DEFAULT_OPS


def test_json_lines_round_trip(tmp_path: Path) -> None:
    lines = list(to_json_lines(DEFAULT_OPS))
    assert all("\n" not in line for line in lines)
    assert from_json_lines(lines) == DEFAULT_OPS
    path = tmp_path / "workload.jsonl"
    assert write_ops(path, DEFAULT_OPS) == len(DEFAULT_OPS)
    assert read_ops(path) == DEFAULT_OPS


def test_json_lines_reject_foreign_operations() -> None:
    with pytest.raises(ValueError, match="not a shop operation"):
        from_json_lines(['{"kind": "upsert", "table": "orders", "key": 1, "values": {}}'])
    with pytest.raises(ValueError, match="not a shop operation"):
        from_json_lines(['{"kind": "insert", "table": "users", "key": 1, "values": {}}'])


def test_config_rejects_unknown_fields_and_impossible_ratios() -> None:
    with pytest.raises(pydantic.ValidationError):
        DemoConfig(n_order=10)  # type: ignore[call-arg]
    with pytest.raises(pydantic.ValidationError):
        DemoConfig(pay_ratio=1.5)


def test_products_come_first_and_only_once() -> None:
    n_products = DemoConfig().n_products
    head, tail = DEFAULT_OPS[:n_products], DEFAULT_OPS[n_products:]
    assert [(op.kind, op.table, op.key) for op in head] == [
        ("insert", "product_catalog", product_id) for product_id in range(1, n_products + 1)
    ]
    assert not any(op.table == "product_catalog" for op in tail)


def test_every_update_and_delete_targets_a_live_row() -> None:
    # replay raises on an insert of an existing key, a change to a missing one, or a second payment per order
    final = replay(DEFAULT_OPS)
    assert len(final["orders"]) == len(order_inserts(DEFAULT_OPS)) - op_mix(DEFAULT_OPS)["delete orders"]
    with pytest.raises(ValueError, match="does not match"):
        replay([*DEFAULT_OPS, Op("update", "orders", 10**9, {"order_status": "paid"})])
    with pytest.raises(ValueError, match="does not match"):
        replay([*DEFAULT_OPS, DEFAULT_OPS[0]])


def test_default_mix_has_the_configured_proportions() -> None:
    orders = len(order_inserts(DEFAULT_OPS))
    mix = op_mix(DEFAULT_OPS)
    assert orders == 10_000
    assert mix["insert orders_pay"] / orders == pytest.approx(0.7, abs=0.02)
    assert mix["delete orders"] / orders == pytest.approx(0.05, abs=0.01)
    assert mix["delete orders_pay"] < mix["delete orders"]
    assert sum(mix.values()) == len(DEFAULT_OPS)
    assert "update product_catalog" not in mix


def test_some_payments_arrive_before_their_order_and_the_order_still_follows() -> None:
    inserted: set[object] = set()
    early: list[object] = []
    for op in DEFAULT_OPS:
        if op.kind == "insert" and op.table == "orders":
            inserted.add(op.key)
        elif op.kind == "insert" and op.table == "orders_pay" and op.values["order_id"] not in inserted:
            early.append(op.values["order_id"])
    assert len(early) / len(payment_inserts(DEFAULT_OPS)) == pytest.approx(0.1, abs=0.02)
    assert set(early) <= inserted


def test_no_payment_for_a_deleted_order_and_no_orphan_payment_at_the_end() -> None:
    deleted: set[object] = set()
    for op in DEFAULT_OPS:
        if op.kind == "delete" and op.table == "orders":
            deleted.add(op.key)
        elif op.kind == "insert" and op.table == "orders_pay":
            assert op.values["order_id"] not in deleted
    final = replay(DEFAULT_OPS)
    assert {row["order_id"] for row in final["orders_pay"].values()} <= final["orders"].keys()


def test_shops_are_skewed_and_uniform_without_skew() -> None:
    def top_tenth_share(ops: list[Op], n_shops: int) -> float:
        counts = Counter(op.values["shop_id"] for op in order_inserts(ops))
        return sum(count for _, count in counts.most_common(n_shops // 10)) / sum(counts.values())

    assert top_tenth_share(DEFAULT_OPS, 100) > 0.5
    uniform = generate(DemoConfig(n_orders=5_000, shop_skew=0))
    assert top_tenth_share(uniform, 100) < 0.15


def test_create_times_spread_over_the_configured_days_and_changes_come_later() -> None:
    config = DemoConfig()
    created = {op.key: datetime.fromisoformat(str(op.values["create_time"])) for op in order_inserts(DEFAULT_OPS)}
    assert config.start <= min(created.values()) and max(created.values()) < config.start + timedelta(days=3)
    days = Counter(moment.date() for moment in created.values())
    assert sorted(days) == [date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]
    assert min(days.values()) > 3_000
    last_update = dict(created)
    for op in DEFAULT_OPS:
        if op.kind == "update" and op.table == "orders":
            moment = datetime.fromisoformat(str(op.values["update_time"]))
            assert moment >= last_update[op.key]
            last_update[op.key] = moment


def test_status_moves_along_the_lifecycle_and_fees_are_corrected() -> None:
    updates = [op for op in DEFAULT_OPS if op.kind == "update" and op.table == "orders"]
    statuses = Counter(op.values["order_status"] for op in updates if "order_status" in op.values)
    assert set(statuses) == {"paid", "shipped", "completed", "cancelled"}
    corrections = [op for op in updates if "buy_fee" in op.values]
    assert len(corrections) / 10_000 == pytest.approx(0.05, abs=0.01)
    paid_orders = {op.values["order_id"] for op in payment_inserts(DEFAULT_OPS)}
    for op in updates:
        if op.values.get("order_status") in {"paid", "shipped", "completed"}:
            assert op.key in paid_orders


def test_product_renames_when_asked() -> None:
    ops = generate(DemoConfig(n_orders=1_000, n_products=100, product_rename_ratio=0.5))
    renames = [op for op in ops if op.kind == "update" and op.table == "product_catalog"]
    assert 30 <= len(renames) <= 70
    original = {op.key: op.values["catalog_name"] for op in ops[:100]}
    assert all(op.values["catalog_name"] != original[op.key] for op in renames)
    replay(ops)


def test_values_are_plain_json_types_with_exact_decimals() -> None:
    for op in DEFAULT_OPS[:2_000]:
        assert all(isinstance(value, int | str) for value in op.values.values())
    fees = [str(op.values["buy_fee"]) for op in order_inserts(DEFAULT_OPS)]
    assert all(fee.count(".") == 1 and len(fee.split(".")[1]) == 2 for fee in fees)
