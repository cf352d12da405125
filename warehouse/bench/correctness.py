"""Final tables of a contender against the oracle (PostgreSQL SQL over the OLTP tables).

A product rename is a dimension change: the lookup join of the streaming pipeline (and an incremental model that
only rewrites changed rows) keeps the name the product had when the order was processed, while the oracle joins
today's name. So, for a product that was renamed, any name it ever had is accepted in `dwd_orders.catalog_name`;
every other column must be equal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from warehouse.bench.oracle import DWD_ORDERS, ORACLE, actual_rows, cutoff, diff, oracle_rows
from warehouse.config import StoreConnection
from warehouse.store import connect

Rows = list[tuple[Any, ...]]
NameHistory = Mapping[int, frozenset[str]]
DWD = "dwd.dwd_orders"
PRODUCT = DWD_ORDERS.columns.index("product_id")
CATALOG_NAME = DWD_ORDERS.columns.index("catalog_name")


@dataclass(frozen=True)
class Relation:
    """Where a contender keeps one of the oracle's tables."""

    database: str
    schema: str
    table: str


class Correctness(BaseModel):
    passed: bool
    seconds_to_converge: float | None
    differences: dict[str, str]


def differences(
    store: StoreConnection,
    relations: Mapping[str, Relation],
    names: NameHistory | None = None,
    source_database: str = "shop",
) -> dict[str, str]:
    """Per oracle table (e.g. "dws.dws_user_daily") the difference to the oracle (run over the OLTP tables in
    `source_database`); "" where equal."""
    found = {}
    with connect(store, database=source_database) as shop:
        for layer_table, relation in relations.items():
            parameters = cutoff(shop, layer_table)
            with connect(store, database=relation.database) as conn:
                actual = actual_rows(conn, layer_table, (relation.schema, relation.table), parameters)
            expected = oracle_rows(shop, layer_table, parameters)
            if layer_table == DWD and names:
                expected, actual = _tolerate_renames(expected, names), _tolerate_renames(actual, names)
            spec = ORACLE[layer_table]
            found[layer_table] = diff(expected, actual, len(spec.key), spec.columns)
    return found


def await_oracle(
    store: StoreConnection, relations: Mapping[str, Relation], names: NameHistory | None, timeout: float
) -> Correctness:
    """Poll until every table equals the oracle (the contender has drained) or `timeout` passes."""
    started = time.monotonic()
    found = differences(store, relations, names)
    while any(found.values()) and time.monotonic() - started < timeout:
        time.sleep(2)
        found = differences(store, relations, names)
    passed = not any(found.values())
    return Correctness(
        passed=passed,
        seconds_to_converge=round(time.monotonic() - started, 1) if passed else None,
        differences={table: text for table, text in found.items() if text},
    )


def _tolerate_renames(rows: Sequence[Sequence[Any]], names: NameHistory) -> Rows:
    return [_with_name_family(row, names) for row in rows]


def _with_name_family(row: Sequence[Any], names: NameHistory) -> tuple[Any, ...]:
    product, name = row[PRODUCT], row[CATALOG_NAME]
    if product in names and name in names[product]:
        values = list(row)
        values[CATALOG_NAME] = f"<a name of product {product}>"
        return tuple(values)
    return tuple(row)
