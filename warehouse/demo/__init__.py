"""The e-commerce demo: an OLTP schema in database `shop`, a deterministic workload, and its loader."""

from __future__ import annotations

from warehouse.demo.generator import DemoConfig, Op, generate, op_mix, replay
from warehouse.demo.schema import SHOP_TABLES, create_shop_schema

__all__ = ["SHOP_TABLES", "DemoConfig", "Op", "create_shop_schema", "generate", "op_mix", "replay"]
