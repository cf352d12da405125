"""Reviewing models like a dbt project: check (planner + lints), plan, data tests, on the running example."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import copy_project
from warehouse.context import Context


@pytest.fixture
def copy(shop: Context, tmp_path: Path) -> Context:
    """A copy of the running example project, to edit; it shares the store, registry and cluster."""
    return Context(copy_project(shop.project_dir, tmp_path, shop.project_dir / "profiles.yml"))


def edit(context: Context, model: str, old: str, new: str) -> None:
    path = next(context.project_dir.joinpath("models").rglob(f"{model}.sql"))
    assert old in path.read_text()
    path.write_text(path.read_text().replace(old, new))
    context.refresh()  # the parsed project is cached per Context


def test_the_example_project_checks_clean(shop: Context) -> None:
    assert shop.check() == []


def test_syntax_error_and_missing_column_fail_check_with_file_and_line(copy: Context) -> None:
    edit(copy, "ads_shop_metrics", "SUM(order_cnt) AS total_orders", "SUM(order_cnt AS total_orders")
    edit(copy, "dws_user_daily", "COUNT(pay_id) AS paid_cnt", "COUNT(pay_idd) AS paid_cnt")
    findings = {f.model: f for f in copy.check()}
    assert findings["ads_shop_metrics"].where == "models/ads/ads_shop_metrics.sql:4"
    assert findings["ads_shop_metrics"].code == "WH100"
    missing = findings["dws_user_daily"]
    assert (missing.code, missing.where) == ("WH200", "models/dws/dws_user_daily.sql:6")
    assert "pay_idd" in missing.message


def test_stream_without_the_key_fails_check_with_its_code(copy: Context) -> None:
    edit(copy, "dwd_orders", "SELECT order_id, pay_id,", "SELECT pay_id,")
    findings = [f for f in copy.check("dwd_orders") if f.severity == "error"]
    assert [(f.code, f.where) for f in findings] == [("WH001", "models/dwd/dwd_orders.sql:16")]


def test_a_filter_that_is_always_false_fails_check(copy: Context) -> None:
    """The planner turns it into a source that finishes, which a continuous job must not have (FLINK-40482)."""
    edit(
        copy,
        "ods_product_catalog",
        "FROM {{ source('shop', 'product_catalog') }}",
        "FROM {{ source('shop', 'product_catalog') }} WHERE 1 = 0",
    )
    findings = [f for f in copy.check("ods_product_catalog") if f.severity == "error"]
    assert [(f.code, f.where) for f in findings] == [("WH200", "models/ods/ods_product_catalog.sql")]
    assert "has a bounded source" in findings[0].message


WORDS_YML = """version: 2
models:
  - name: ods_words
    columns:
      - {name: product_id, data_type: bigint}
      - {name: model, data_type: text}
      - {name: value, data_type: text}
      - {name: timestamp, data_type: "timestamp(3)"}
"""


def test_reserved_words_as_columns_need_backticks_and_check_says_so(copy: Context) -> None:
    folder = copy.project_dir / "models" / "ods"
    (folder / "words.yml").write_text(WORDS_YML)
    select = "SELECT product_id, catalog_name AS {0}, catalog_name AS `value`, updated_at AS `timestamp`\n"
    model = (
        "{{{{ config(primary_key=['product_id']) }}}}\n\n"
        + select
        + "FROM {{{{ source('shop', 'product_catalog') }}}}\n"
    )
    (folder / "ods_words.sql").write_text(model.format("model"))
    copy.refresh()
    findings = [f for f in copy.check("ods_words") if f.severity == "error"]
    assert [(f.code, f.where) for f in findings] == [("WH200", "models/ods/ods_words.sql:3")]
    assert findings[0].hint.startswith("`model` is a reserved word in Flink SQL: write it in backticks")
    (folder / "ods_words.sql").write_text(model.format("`model`"))
    copy.refresh()
    assert copy.check("ods_words") == []  # the compiler quotes every name it emits


def test_cached_misses_on_a_growing_dimension_warn(copy: Context) -> None:
    edit(copy, "dwd_orders", "cache='lru',", "cache='lru', cache_missing=true,")
    findings = copy.check("dwd_orders")
    assert [(f.code, f.severity, f.where) for f in findings] == [("WH005", "warning", "models/dwd/dwd_orders.sql:11")]


def test_a_stream_keyed_unlike_its_table_warns_about_materializer_state(copy: Context) -> None:
    edit(copy, "dwd_orders", ", upsert_materialize='none'", "")
    findings = copy.check("dwd_orders")
    assert [(f.code, f.severity, f.where) for f in findings] == [("WH006", "warning", "models/dwd/dwd_orders.sql:16")]
    assert "stream 'payments'" in findings[0].message


def test_plan_lists_exactly_the_edited_model(copy: Context) -> None:
    assert [c for c in copy.plan().steps if c.kind != "unchanged"] == []
    edit(copy, "dwd_orders", "max_rows=100000", "max_rows=50000")
    changes = [c for c in copy.plan().steps if c.kind != "unchanged"]
    assert [(c.name, c.kind, c.breaking, c.state_compatible) for c in changes] == [
        ("ods_orders", "changed", False, True)  # the job that runs dwd_orders
    ]
    assert "dwd_orders" in changes[0].members
    assert "-  'lookup.partial-cache.max-rows' = '100000'," in changes[0].diff


def test_plan_lists_dependants_of_a_breaking_change(copy: Context) -> None:
    edit(copy, "dws_shop_daily", "WHERE shop_id IS NOT NULL", "WHERE shop_id > 0 AND shop_id IS NOT NULL")
    changes = {c.name: c for c in copy.plan().steps if c.kind != "unchanged"}
    assert set(changes) == {"dws_shop_daily"}  # the job; ads_shop_metrics runs in it, reading its query
    step = changes["dws_shop_daily"]
    assert (step.breaking, step.state_compatible) == (True, False)
    assert step.clears == ("dws_shop_daily", "ads_shop_metrics")  # dws_user_daily is recomputed in place


def test_data_tests_pass_and_a_failing_one_is_reported(copy: Context) -> None:
    results = copy.data_tests()
    assert results and all(r.status == "pass" for r in results), results
    (copy.project_dir / "tests" / "data" / "no_orders_at_all.sql").write_text(
        "SELECT * FROM {{ ref('dwd_orders') }} WHERE order_id IS NOT NULL"
    )
    copy.refresh()
    failing = [r for r in copy.data_tests() if r.status != "pass"]
    assert [(r.name, r.status) for r in failing] == [("no_orders_at_all", "fail")]
    assert failing[0].failures > 0
