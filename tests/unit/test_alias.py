"""A dbt `alias` names a model's table: the model compiles under its dbt name, its table and sinks carry the
alias, and a model that looks it up keeps the cache settings its `lookup()` call gave (dbt parses a copy of the
example project; no service is needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

from warehouse.context import Context

REPO = Path(__file__).resolve().parents[2]


def aliased(project: Path, model: str, alias: str) -> None:
    path = next((project / "models").rglob(f"{model}.sql"))
    text = path.read_text()
    assert "primary_key=" in text
    path.write_text(text.replace("primary_key=", f"alias='{alias}', primary_key=", 1))


def test_an_aliased_model_and_an_aliased_lookup_compile_with_their_settings(tmp_path: Path) -> None:
    for name in ("models", "macros"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "dbt_project.yml", tmp_path)
    aliased(tmp_path, "dwd_orders", "orders_wide")
    aliased(tmp_path, "ods_product_catalog", "product_dim")
    context = Context(tmp_path, progress=lambda message: None)
    scripts = {job.name: path.read_text() for job, path in context.compile()}
    job = scripts["ods_orders"]
    assert "'table-name' = 'dwd.orders_wide'" in job
    lookup = job[job.index("CREATE TEMPORARY TABLE `warehouse`.`ods`.`product_dim__lookup`") :].split(";")[0]
    assert "'table-name' = 'ods.product_dim'" in lookup
    assert "'lookup.partial-cache.max-rows' = '100000'" in lookup  # what lookup('ods_product_catalog', ...) set
    assert "'lookup.partial-cache.expire-after-write' = '10min'" in lookup
