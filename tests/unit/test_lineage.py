"""Column lineage of the example project, traced through every layer down to the OLTP source columns.

dbt parses and renders a copy of the example project (no database needed); two extra models exercise a window
TVF and a `lookup(cache='all')` (which the compiler turns into a join with the dimension's binlog).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from warehouse.compiler import CompiledJob
from warehouse.context import Context
from warehouse.lineage import (
    LineageError,
    LineageNode,
    column_lineage,
    lineage_for,
    model_lineage,
    render_tree,
    source_columns,
    to_json,
    upstream_columns,
)

REPO = Path(__file__).resolve().parents[2]
WINDOWED = """{{ config(primary_key=['shop_id', 'minute']) }}

SELECT w.shop_id, window_start AS minute, SUM(w.buy_fee) AS fee
FROM TABLE(TUMBLE(TABLE {{ ref('dwd_orders') }}, DESCRIPTOR(create_time), INTERVAL '1' MINUTE)) AS w
GROUP BY w.shop_id, window_start
"""
LOOKUP_ALL = """{{ config(primary_key=['order_id']) }}

SELECT o.order_id, c.catalog_name AS category
FROM {{ ref('ods_orders') }} AS o
JOIN {{ lookup('ods_product_catalog', cache='all') }} FOR SYSTEM_TIME AS OF o.proc_time AS c
  ON o.product_id = c.product_id
"""
EXTRA_YML = """version: 2
models:
  - name: dws_shop_fee_per_minute
    columns:
      - {name: shop_id, data_type: bigint}
      - {name: minute, data_type: "timestamp(3)"}
      - {name: fee, data_type: "numeric(18,2)"}
  - name: dwd_order_categories
    columns:
      - {name: order_id, data_type: bigint}
      - {name: category, data_type: text}
"""


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    project = tmp_path_factory.mktemp("lineage")
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, project / name)
    shutil.copy(REPO / "dbt_project.yml", project)
    (project / "models" / "extra").mkdir()
    (project / "models" / "extra" / "dws_shop_fee_per_minute.sql").write_text(WINDOWED)
    (project / "models" / "extra" / "dwd_order_categories.sql").write_text(LOOKUP_ALL)
    (project / "models" / "extra" / "extra.yml").write_text(EXTRA_YML)
    yield Context(project, progress=lambda message: None)


@pytest.fixture(scope="module")
def plans(context: Context) -> dict[str, CompiledJob]:
    return {plan.model.name: plan for plan in context.lifecycle.compile(context.project.select(None))}


def trace(context: Context, plans: dict[str, CompiledJob], target: str) -> LineageNode:
    model, column = target.split(".")
    return column_lineage(context.project, plans, model, column)


def chain(node: LineageNode) -> list[tuple[str, str]]:
    """(name, kind) from the node down its only child, to the leaf."""
    steps: list[tuple[str, str]] = [(node.name, node.kind)]
    while node.children:
        assert len(node.children) == 1, f"{node.name} has {len(node.children)} inputs"
        node = node.children[0]
        steps.append((node.name, node.kind))
    return steps


def test_an_aggregate_traces_to_its_argument_down_to_the_source(
    context: Context, plans: dict[str, CompiledJob]
) -> None:
    gmv = trace(context, plans, "dws_shop_daily.gmv")
    assert chain(gmv) == [
        ("dws.dws_shop_daily.gmv", "model"),
        ("dwd.dwd_orders.buy_fee", "model"),
        ("ods.ods_orders.buy_fee", "model"),
        ("shop.public.orders.buy_fee", "source"),
    ]
    assert gmv.expression == "CAST(SUM(buy_fee) AS DECIMAL(18, 2))"


def test_lineage_for_a_target_renders_the_project_itself(context: Context) -> None:
    assert source_columns(lineage_for(context, "ads_shop_metrics.total_gmv")) == ["shop.public.orders.buy_fee"]


def test_a_looked_up_column_traces_through_the_dimension(context: Context, plans: dict[str, CompiledJob]) -> None:
    assert chain(trace(context, plans, "dwd_orders.catalog_name")) == [
        ("dwd.dwd_orders.catalog_name", "model"),
        ("ods.ods_product_catalog.catalog_name", "lookup"),
        ("shop.public.product_catalog.catalog_name", "source"),
    ]


def test_a_lookup_with_cache_all_is_still_a_lookup(context: Context, plans: dict[str, CompiledJob]) -> None:
    assert "__lookup" not in plans["dwd_order_categories"].streams[0].sql  # the compiler joins the binlog
    assert chain(trace(context, plans, "dwd_order_categories.category"))[1] == (
        "ods.ods_product_catalog.catalog_name",
        "lookup",
    )


def test_count_star_traces_to_the_rows_it_counts(context: Context, plans: dict[str, CompiledJob]) -> None:
    assert render_tree(trace(context, plans, "dws_shop_daily.order_cnt")) == (
        "dws.dws_shop_daily.order_cnt  [model]  COUNT(*)\n"
        "└── dwd.dwd_orders.*  [model]\n"
        "    ├── ods.ods_orders.*  [model]\n"
        "    │   └── shop.public.orders.*  [source]\n"
        "    └── ods.ods_orders_pay.*  [model]\n"
        "        └── shop.public.orders_pay.*  [source]"
    )


def test_a_partial_update_column_is_traced_in_the_stream_that_writes_it(
    context: Context, plans: dict[str, CompiledJob]
) -> None:
    assert source_columns(trace(context, plans, "dwd_orders.pay_platform")) == ["shop.public.orders_pay.pay_platform"]
    # the primary key is written by both streams
    assert upstream_columns(trace(context, plans, "dwd_orders.order_id")) == [
        "ods.ods_orders.order_id",
        "ods.ods_orders_pay.order_id",
    ]


def test_a_column_from_two_inputs_has_both(context: Context, plans: dict[str, CompiledJob]) -> None:
    paid_gmv = trace(context, plans, "dws_shop_daily.paid_gmv")
    assert sorted(upstream_columns(paid_gmv)) == ["dwd.dwd_orders.buy_fee", "dwd.dwd_orders.pay_id"]
    assert sorted(source_columns(paid_gmv)) == ["shop.public.orders.buy_fee", "shop.public.orders_pay.pay_id"]


def test_window_columns_trace_to_the_time_column(context: Context, plans: dict[str, CompiledJob]) -> None:
    assert upstream_columns(trace(context, plans, "dws_shop_fee_per_minute.minute")) == ["dwd.dwd_orders.create_time"]
    assert source_columns(trace(context, plans, "dws_shop_fee_per_minute.fee")) == ["shop.public.orders.buy_fee"]


def test_unknown_model_lists_the_models(context: Context, plans: dict[str, CompiledJob]) -> None:
    with pytest.raises(LineageError) as caught:
        column_lineage(context.project, plans, "dws_shop_weekly", "gmv")
    assert "no model named 'dws_shop_weekly'" in str(caught.value)
    assert "dws_shop_daily" in str(caught.value) and "ods_orders_pay" in str(caught.value)


def test_unknown_column_lists_the_columns(context: Context) -> None:
    with pytest.raises(LineageError) as caught:
        lineage_for(context, "dws_shop_daily.revenue")
    message = str(caught.value)
    assert "models/dws/dws_shop_daily.sql" in message and "no column 'revenue'" in message
    assert "shop_id, ds, order_cnt, paid_cnt, gmv, paid_gmv" in message


def test_a_target_must_name_model_and_column(context: Context) -> None:
    with pytest.raises(LineageError, match=r"is not MODEL\.COLUMN"):
        lineage_for(context, "gmv")


def test_json_shape(context: Context, plans: dict[str, CompiledJob]) -> None:
    document = json.loads(json.dumps(to_json(trace(context, plans, "dwd_orders.catalog_name"))))
    assert set(document) == {"table", "column", "kind", "expression", "children"}
    assert (document["table"], document["column"], document["kind"]) == ("dwd.dwd_orders", "catalog_name", "model")
    lookup = document["children"][0]
    assert (lookup["table"], lookup["kind"], lookup["expression"]) == (
        "ods.ods_product_catalog",
        "lookup",
        "catalog_name",
    )
    source = lookup["children"][0]
    assert source == {
        "table": "shop.public.product_catalog",
        "column": "catalog_name",
        "kind": "source",
        "expression": None,
        "children": [],
    }


def test_text_tree(context: Context, plans: dict[str, CompiledJob]) -> None:
    assert render_tree(trace(context, plans, "dwd_orders.order_id")) == (
        "dwd.dwd_orders.order_id  [model]  o.order_id\n"
        "├── ods.ods_orders.order_id  [model]  order_id\n"
        "│   └── shop.public.orders.order_id  [source]\n"
        "└── ods.ods_orders_pay.order_id  [model]  order_id\n"
        "    └── shop.public.orders_pay.order_id  [source]"
    )


def test_every_column_of_every_model(context: Context, plans: dict[str, CompiledJob]) -> None:
    everything = model_lineage(context.project, plans)
    assert set(everything) == {plan.model.unique_id for plan in plans.values()}
    for plan in plans.values():
        columns = everything[plan.model.unique_id]
        assert list(columns) == plan.model.table.column_names()
        assert all(node.table == plan.model.table.qualified for node in columns.values())
