"""The grouping rule (jobgroups.py), row by row: which models share a job, and which reads are fused."""

from __future__ import annotations

import pytest

from warehouse.compiler import CompiledJob, CompiledModel, Stream, job_settings, upstream_first
from warehouse.connectors import DEFAULT_TUNING
from warehouse.errors import WarehouseError
from warehouse.jobgroups import Member, fused_reads, group_models
from warehouse.lifecycle.plan import cleared
from warehouse.model_config import TableSettings
from warehouse.project import Column, Model, ModelError, Table

ORDERS, PAYS, PRODUCTS = "shop.public.orders", "shop.public.orders_pay", "shop.public.product_catalog"


def model(name: str, *reads: str, fusable: bool = True, group: str | None = None) -> Member:
    return Member(name, reads, f"wh.m.{name}", fusable, group)


def read(name: str) -> str:
    return f"wh.m.{name}"


# The example project, in dependency order (as DbtProject.select orders it).
EXAMPLE = [
    model("ods_orders", ORDERS),
    model("ods_orders_pay", PAYS),
    model("ods_product_catalog", PRODUCTS),
    model("dwd_orders", read("ods_orders"), read("ods_orders_pay"), fusable=False),  # partial_update
    model("dws_shop_daily", read("dwd_orders")),
    model("ads_shop_metrics", read("dws_shop_daily")),
    model("dws_user_daily", read("dwd_orders")),
    model("ads_user_metrics", read("dws_user_daily")),
    model("ods_orders_timed", ORDERS, fusable=False),  # has a watermark
    model("dws_shop_minutely", read("ods_orders_timed")),
]

CASES = [
    pytest.param(
        EXAMPLE,
        {
            "ods_orders": ["ods_orders", "ods_orders_pay", "dwd_orders", "ods_orders_timed"],
            "ods_product_catalog": ["ods_product_catalog"],
            "dws_shop_daily": ["dws_shop_daily", "ads_shop_metrics", "dws_user_daily", "ads_user_metrics"],
            "dws_shop_minutely": ["dws_shop_minutely"],
        },
        id="the example: 10 models in 4 jobs",
    ),
    pytest.param(
        [model("a", ORDERS), model("b", read("a"))],
        {"a": ["a", "b"]},
        id="a reader of a continuous model joins it",
    ),
    pytest.param(
        [model("a", ORDERS, fusable=False), model("b", read("a"))],
        {"a": ["a"], "b": ["b"]},
        id="a partial-update or watermarked model is a boundary",
    ),
    pytest.param(
        [model("a", ORDERS, fusable=False), model("b", read("a")), model("c", read("a"))],
        {"a": ["a"], "b": ["b", "c"]},
        id="readers of one binlog share a job",
    ),
    pytest.param(
        [model("a", ORDERS), model("b", PAYS)],
        {"a": ["a"], "b": ["b"]},
        id="unrelated models run alone",
    ),
    pytest.param(
        [model("a", ORDERS), model("b", read("a"), group="solo")],
        {"a": ["a"], "solo": ["b"]},
        id="job_group takes a model out of the automatic rule",
    ),
    pytest.param(
        [model("a", ORDERS, group="g"), model("b", PAYS, group="g"), model("c", read("a"))],
        {"g": ["a", "b"], "c": ["c"]},
        id="models naming one job_group run together; an automatic reader reads its binlog",
    ),
]


@pytest.mark.parametrize(("members", "expected"), CASES)
def test_grouping_rule(members: list[Member], expected: dict[str, list[str]]) -> None:
    assert group_models(members) == expected


def test_fused_reads_are_the_fusable_members_of_the_same_job() -> None:
    job = [m for m in EXAMPLE if m.name in ("ods_orders", "ods_orders_pay", "dwd_orders", "ods_orders_timed")]
    dwd = next(m for m in job if m.name == "dwd_orders")
    assert fused_reads(dwd, job) == [read("ods_orders"), read("ods_orders_pay")]
    timed = next(m for m in job if m.name == "ods_orders_timed")
    assert fused_reads(timed, job) == []


def test_a_job_group_named_like_an_automatic_job_is_refused() -> None:
    with pytest.raises(WarehouseError, match="job group 'a'"):
        group_models([model("a", ORDERS), model("b", PAYS, group="a")])


def job_of(*models: tuple[str, str, tuple[str, ...]]) -> CompiledJob:
    """A job of (name, query, upstream names) models, upstream first."""
    members = []
    for name, query, upstream in models:
        table = Table(f"model.x.{name}", "wh", "m", name, (Column("id", "bigint"),), ("id",))
        settings = TableSettings(primary_key=["id"])
        model = Model(table, f"models/{name}.sql", "continuous", settings, tuple(f"model.x.{u}" for u in upstream))
        members.append(CompiledModel(model, [Stream("main", query, ["id"], 1)]))
    return CompiledJob("j", members, [], [], [])


JOB = job_of(("a", "SELECT 1", ()), ("b", "SELECT 2", ("a",)), ("c", "SELECT 3", ()), ("d", "SELECT 4", ("b",)))
RAN = {member.model.name: member.query_fingerprint for member in JOB.members}


@pytest.mark.parametrize(
    ("previous", "refreshed", "expected"),
    [
        pytest.param(RAN, set(), [], id="same queries: every table recomputed in place"),
        pytest.param({**RAN, "a": "old"}, set(), ["a", "b", "d"], id="a changed: it and its readers in the job"),
        pytest.param({**RAN, "d": "old"}, set(), ["d"], id="the last changed: only it"),
        pytest.param({k: v for k, v in RAN.items() if k != "c"}, set(), ["c"], id="a new model"),
        pytest.param({}, set(), ["a", "b", "c", "d"], id="recorded before job groups: everything"),
        pytest.param(RAN, {"a", "b", "c", "d"}, ["a", "b", "c", "d"], id="--full-refresh of all: everything"),
        pytest.param(RAN, {"b", "d"}, ["b", "d"], id="--full-refresh of b+: b and d; a and c kept"),
    ],
)
def test_what_a_clean_start_clears(previous: dict[str, str], refreshed: set[str], expected: list[str]) -> None:
    assert cleared(JOB, previous, refreshed) == expected


def configured(name: str, **config: object) -> Model:
    table = Table(f"model.x.{name}", "wh", "m", name, (Column("id", "bigint"),), ("id",))
    return Model(table, f"models/{name}.sql", "continuous", TableSettings(primary_key=["id"], **config), ())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("configs", "expected"),
    [
        pytest.param([{}, {}], {}, id="defaults: nothing of the models'"),
        pytest.param([{"parallelism": 2}, {"parallelism": 3}, {}], {"parallelism.default": "3"}, id="the largest"),
        pytest.param(
            [{"upsert_materialize": "none"}, {}],
            {"table.exec.sink.upsert-materialize": "NONE"},
            id="one model's upsert_materialize holds for the job",
        ),
    ],
)
def test_a_jobs_settings_come_from_its_models(configs: list[dict[str, object]], expected: dict[str, str]) -> None:
    models = [configured(f"m{i}", **config) for i, config in enumerate(configs)]
    settings = job_settings("j", models, {"execution.checkpointing.interval": "5 s"}, DEFAULT_TUNING)
    assert settings == {
        "execution.checkpointing.interval": "5 s",
        "execution.buffer-timeout.interval": "10 ms",
        **expected,
    }


def test_models_that_disagree_on_a_job_setting_are_refused_with_their_files() -> None:
    models = [configured("a", upsert_materialize="none"), configured("b", upsert_materialize="force")]
    with pytest.raises(ModelError, match=r"\[WH009\].*upsert_materialize differently \(force, none\)") as refused:
        job_settings("j", models, {}, DEFAULT_TUNING)
    assert refused.value.where == "models/a.sql, models/b.sql"


def one_model_job(name: str, *upstream: str) -> CompiledJob:
    job = job_of((name, f"SELECT '{name}'", upstream))
    return CompiledJob(name, job.members, [], [], [])


@pytest.mark.parametrize(
    ("jobs", "expected"),
    [
        pytest.param([("a",), ("b", "a")], ["a", "b"], id="already upstream first"),
        pytest.param([("b", "c"), ("c",)], ["c", "b"], id="a looked-up table's job first"),
        pytest.param([("a", "b"), ("b", "a")], ["a", "b"], id="a cycle keeps the given order"),
        pytest.param([("a",), ("b",), ("c", "z")], ["a", "b", "c"], id="unknown upstream: ignored"),
    ],
)
def test_jobs_start_upstream_first(jobs: list[tuple[str, ...]], expected: list[str]) -> None:
    assert [job.name for job in upstream_first([one_model_job(*job) for job in jobs])] == expected
