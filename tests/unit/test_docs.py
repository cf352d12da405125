"""The docs site: lineage and job scripts added to dbt's manifest, and serving `target/`."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from warehouse.context import Context
from warehouse.docs import annotate_manifest, column_lineage_line, generate_docs, serve_docs
from warehouse.errors import WarehouseError
from warehouse.lineage import LineageNode

REPO = Path(__file__).resolve().parents[2]
SOURCE_FEE = LineageNode("shop.public.orders", "buy_fee", "source")
ODS_FEE = LineageNode("ods.ods_orders", "buy_fee", "model", [SOURCE_FEE], "buy_fee")
DWD_FEE = LineageNode("dwd.dwd_orders", "buy_fee", "model", [ODS_FEE], "o.buy_fee")
GMV = LineageNode("dws.dws_daily", "gmv", "model", [DWD_FEE], "SUM(buy_fee)")
ORDER_CNT = LineageNode("dws.dws_daily", "order_cnt", "model", [], "COUNT(*)")
DAILY = "model.shop.dws_daily"


def manifest() -> dict[str, Any]:
    return {
        "nodes": {
            DAILY: {
                "description": "Per day.",
                "columns": {
                    "gmv": {"name": "gmv", "description": "Sum of buy_fee"},
                    "order_cnt": {"name": "order_cnt", "description": ""},
                    "note": {"name": "note", "description": "not traced"},
                },
            },
            "test.shop.not_null_dws_daily_gmv": {"description": "", "columns": {}},
        },
        "sources": {},
    }


def test_each_column_gets_its_lineage_under_its_description() -> None:
    annotated = annotate_manifest(manifest(), {DAILY: {"gmv": GMV, "order_cnt": ORDER_CNT}}, {})
    columns = annotated["nodes"][DAILY]["columns"]
    assert columns["gmv"]["description"] == (
        "Sum of buy_fee\n\nLineage: dwd.dwd_orders.buy_fee; sources: shop.public.orders.buy_fee"
    )
    assert columns["order_cnt"]["description"] == "Lineage: computed as `COUNT(*)`, no upstream column"
    assert columns["note"]["description"] == "not traced"


def test_each_model_gets_its_job_script() -> None:
    annotated = annotate_manifest(manifest(), {}, {DAILY: "target/warehouse/dws_daily.sql"})
    assert annotated["nodes"][DAILY]["description"] == "Per day.\n\nFlink job: `target/warehouse/dws_daily.sql`"
    assert annotated["nodes"]["test.shop.not_null_dws_daily_gmv"]["description"] == ""


def test_the_given_manifest_is_left_as_it_was() -> None:
    original = manifest()
    annotate_manifest(original, {DAILY: {"gmv": GMV}}, {DAILY: "target/warehouse/dws_daily.sql"})
    assert original == manifest()


def test_a_column_read_straight_from_a_source_names_it_once() -> None:
    assert column_lineage_line(ODS_FEE) == "Lineage: shop.public.orders.buy_fee"


def test_a_column_written_by_no_stream() -> None:
    assert column_lineage_line(LineageNode("dwd.dwd_orders", "x", "model")) == (
        "Lineage: not written by any stream, no upstream column"
    )


def test_generate_docs_builds_the_site_without_services(tmp_path: Path) -> None:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "dbt_project.yml", tmp_path)
    target = generate_docs(Context(tmp_path, progress=lambda message: None))
    assert (target / "index.html").exists() and (target / "catalog.json").exists()
    node = json.loads((target / "manifest.json").read_text())["nodes"]["model.shop_warehouse.dws_shop_daily"]
    assert node["description"].endswith("Flink job: `target/warehouse/dws_shop_daily.sql`")
    assert (tmp_path / "target" / "warehouse" / "dws_shop_daily.sql").exists()
    assert node["columns"]["gmv"]["description"] == (
        "Lineage: dwd.dwd_orders.buy_fee; sources: shop.public.orders.buy_fee"
    )


def test_serving_needs_a_generated_site(tmp_path: Path) -> None:
    with pytest.raises(WarehouseError, match="no docs site"):
        serve_docs(Context(tmp_path), port=0)


def test_serving_on_a_taken_port_says_so(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "index.html").write_text("<html></html>")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(WarehouseError, match=r"cannot serve on 127\.0\.0\.1"):
            serve_docs(Context(tmp_path), port=taken.getsockname()[1])
