"""Unit tests checked against the compiled example project, and the Flink SQL they run (no service needed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from warehouse.compiler import CompiledJob, Compiler
from warehouse.config import StoreConnection, load_settings
from warehouse.errors import ConfigError
from warehouse.modeltests.fixtures import load_unit_tests
from warehouse.modeltests.inputs import Change, WatermarkStep
from warehouse.modeltests.render import changelog_lines, declarations, query, stream_views
from warehouse.modeltests.runner import PreparedTest, prepare
from warehouse.project import DbtProject

REPO = Path(__file__).resolve().parents[2]
MODELS = ("dwd_orders", "dws_shop_minutely", "dws_shop_daily", "ods_orders_timed")
STORE = StoreConnection()


class Example:
    """The example project, compiled once; fixtures are added to its unit_tests folder."""

    def __init__(self, folder: Path) -> None:
        for name in ("models", "macros", "unit_tests"):
            shutil.copytree(REPO / name, folder / name)
        shutil.copy(REPO / "dbt_project.yml", folder)
        self.folder = folder
        self.project = DbtProject(load_settings(folder, environ={}))
        self.compiler = Compiler(self.project, STORE)
        uids = [f"model.shop_warehouse.{name}" for name in MODELS]
        compiled = self.project.compile(uids)
        self.plans: dict[str, CompiledJob] = {
            self.project.models[uid].name: self.compiler.compile(self.project.models[uid], compiled[uid])
            for uid in uids
        }

    def prepared(self, name: str) -> PreparedTest:
        test = next(test for test in load_unit_tests(self.folder) if test.name == name)
        return prepare(test, self.plans[test.model], self.project, self.compiler)

    def error(self, text: str) -> str:
        (self.folder / "unit_tests" / "bad.yml").write_text(text)
        try:
            with pytest.raises(ConfigError) as caught:
                self.prepared("bad")
        finally:
            (self.folder / "unit_tests" / "bad.yml").unlink()
        return str(caught.value)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Example:
    return Example(tmp_path_factory.mktemp("example"))


def test_every_example_fixture_matches_its_model(example: Example) -> None:
    for test in load_unit_tests(example.folder):
        prepared = example.prepared(test.name)
        assert prepared.expectation.rows, test.name


def test_rows_become_a_changelog_with_before_images(example: Example) -> None:
    prepared = example.prepared("watermark_step_closes_the_minute")
    (orders,) = prepared.streams
    update = orders.events[2]
    assert isinstance(update, Change) and update.op == "u"
    assert update.before and update.after and (update.before["buy_fee"], update.after["buy_fee"]) == (10, 12)
    assert update.after["create_time"] == update.before["create_time"]
    assert isinstance(orders.events[3], WatermarkStep)
    lines = [json.loads(line) for line in changelog_lines(orders)]
    assert lines[0] == {
        "before": None,
        "after": {
            "order_id": 11,
            "shop_id": 7,
            "buy_fee": "10.00",
            "order_status": "created",
            "create_time": "2024-01-01 10:00:10",
        },
        "op": "c",
    }
    # a watermark step at 10:01 is a marker row whose event time is the step plus the delay (1 hour)
    assert lines[3] == {
        "before": None,
        "after": {"__wh_watermark_step": True, "create_time": "2024-01-01 11:01:00"},
        "op": "c",
    }


def test_a_stream_input_is_a_changelog_file_with_the_jobs_watermark(example: Example) -> None:
    prepared = example.prepared("watermark_step_closes_the_minute")
    files = {prepared.streams[0].table.unique_id: Path("/tmp/x/0_ods_orders_timed.json")}
    table, view = declarations(prepared.streams, prepared.lookups, files, {}, STORE)[2:]
    assert table.startswith("CREATE TEMPORARY TABLE `warehouse`.`ods`.`ods_orders_timed__wh_fixture` (")
    assert "WATERMARK FOR `create_time` AS `create_time` - INTERVAL '1' HOUR" in table
    assert "`__wh_watermark_step` BOOLEAN" in table
    assert "'connector' = 'filesystem'" in table and "'path' = 'file:///tmp/x/0_ods_orders_timed.json'" in table
    assert "'format' = 'debezium-json'" in table
    assert view.startswith("CREATE TEMPORARY VIEW `warehouse`.`ods`.`ods_orders_timed` AS")
    assert view.endswith("WHERE `__wh_watermark_step` IS NULL")


def test_the_models_own_sql_runs_and_each_column_is_cast_to_the_sink_type(example: Example) -> None:
    prepared = example.prepared("payment_before_its_order")
    plan = prepared.plan
    assert stream_views(plan) == [f"CREATE TEMPORARY VIEW `wh_stream_{s.name}` AS\n{s.sql}" for s in plan.streams]
    sql = query(plan)
    assert sql.count("UNION ALL") == 1
    assert "SELECT 'orders' AS `__wh_stream`, CAST(`order_id` AS BIGINT) AS `order_id`" in sql
    assert "CAST(NULL AS BIGINT) AS `pay_id`" in sql.split("UNION ALL")[0]
    assert "CAST(`pay_id` AS BIGINT) AS `pay_id`" in sql.split("UNION ALL")[1]


def test_a_lookup_input_is_a_jdbc_lookup_table_over_a_scratch_table(example: Example) -> None:
    prepared = example.prepared("payment_before_its_order")
    (lookup,) = prepared.lookups
    assert lookup.name == "ods_product_catalog__lookup"
    assert [row["catalog_name"] for row in lookup.rows] == ["books"]
    files = {s.table.unique_id: Path(f"/tmp/{s.table.name}.json") for s in prepared.streams}
    statements = declarations(prepared.streams, prepared.lookups, files, {lookup.name: "wh_unit_1_0.x"}, STORE)
    (ddl,) = [s for s in statements if "__lookup" in s]
    assert "`warehouse`.`ods`.`ods_product_catalog__lookup`" in ddl and "'table-name' = 'wh_unit_1_0.x'" in ddl
    orders = next(s for s in statements if "`ods_orders__wh_fixture`" in s and "CREATE TEMPORARY TABLE" in s)
    assert "`proc_time` AS PROCTIME()" in orders and "WATERMARK" not in orders


BAD = """
unit_tests:
  - name: bad
    model: {model}
    given:
      - input: {input}
        rows:
          {row}
    expect:
      {expect}
"""
ORDER = "{order_id: 1, shop_id: 7, buy_fee: 1.00, create_time: '2024-01-01 10:00:00'}"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"row": "- {order_id: 1, colour: red}"},
            "bad.given[0].rows[0].colour: not a column of ref('ods_orders_timed')",
        ),
        ({"row": "- {op: update, order_id: 1}"}, "bad.given[0].rows[0]: key (1,) is updated before it is inserted"),
        (
            {"row": "- {op: upsert, order_id: 1}"},
            "bad.given[0].rows[0].op: 'upsert' is not one of insert, update, delete",
        ),
        (
            {"row": "- {shop_id: 7}"},
            "bad.given[0].rows[0]: primary key column(s) ['order_id'] of ref('ods_orders_timed')",
        ),
        (
            {"row": "- {order_id: 1, buy_fee: 'a lot'}"},
            "bad.given[0].rows[0].buy_fee: 'a lot' is not a valid DECIMAL(12, 2) value",
        ),
        (
            {"row": "- {order_id: 1, shop_id: 7}"},
            "bad.given[0].rows[0].create_time: ref('ods_orders_timed') has a watermark",
        ),
        ({"input": "ref('dwd_orders')"}, "bad.given[0].input: dws_shop_minutely does not read ref('dwd_orders')"),
        ({"input": "ref('nope')"}, "bad.given[0].input: ref('nope') is not a model of the project"),
        (
            {"expect": "rows: [{shop_id: 7, window_start: 'soon'}]"},
            "bad.expect.rows[0].window_start: 'soon' is not a valid TIMESTAMP(3) value",
        ),
        ({"expect": "rows: [{shop_id: 7}]"}, "bad.expect.rows[0]: primary key column(s) ['window_start']"),
        (
            {"expect": "changelog: [{op: '+X', shop_id: 7, window_start: '2024-01-01 10:00:00'}]"},
            "bad.expect.changelog[0].op",
        ),
        (
            {"model": "dws_shop_daily", "input": "ref('dwd_orders')", "row": "- {watermark: '2024-01-01 10:00:00'}"},
            "bad.given[0].rows[0].watermark: ref('dwd_orders') declares no watermark",
        ),
    ],
)
def test_fixture_errors_name_the_file_and_key(example: Example, fields: dict[str, str], message: str) -> None:
    values = {
        "model": "dws_shop_minutely",
        "input": "ref('ods_orders_timed')",
        "row": f"- {ORDER}",
        "expect": "rows: []",
        **fields,
    }
    error = example.error(BAD.format(**values))
    assert error.startswith("unit_tests/bad.yml: ") and message in error, error
