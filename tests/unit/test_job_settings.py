"""What a model's job is told besides its SQL: Flink settings and connector options from profile and config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.example_project import copy_example, edit, plan
from warehouse.checks import _materializer_findings
from warehouse.compiler import PLAN_SHARED_QUERIES_ONCE


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def test_every_job_gets_the_freshness_defaults(project: Path) -> None:
    job = plan(project, "dws_shop_daily")
    assert job.settings["execution.buffer-timeout.interval"] == "10 ms"
    script = job.script()
    assert "'debezium.poll.interval.ms' = '200'" in script
    assert "'sink.buffer-flush.interval' = '100ms'" in script


def test_every_job_carries_the_settings_a_remote_cluster_would_not_have(project: Path) -> None:
    """Checkpoints (they move the CDC slots), retained for resuming, a restart strategy that outlasts restarts."""
    settings = plan(project, "dws_shop_daily").settings
    assert settings["execution.checkpointing.interval"] == "10000 ms"
    assert settings["execution.checkpointing.externalized-checkpoint-retention"] == "RETAIN_ON_CANCELLATION"
    assert settings["state.checkpoints.dir"] == (project / ".warehouse" / "checkpoints").resolve().as_uri()
    assert settings["restart-strategy.type"] == "exponential-delay"
    assert settings["parallelism.default"] == "1"
    (project / "profiles.yml").write_text("targets:\n  dev:\n    {parallelism: 2, checkpoint_interval: 1min}\n")
    settings = plan(project, "dws_shop_daily").settings
    assert (settings["parallelism.default"], settings["execution.checkpointing.interval"]) == ("2", "60000 ms")


def test_profile_tuning_changes_the_job(project: Path) -> None:
    (project / "profiles.yml").write_text(
        "targets:\n  dev:\n    jobs: {cdc_poll_interval: 500ms, buffer_timeout: 1s}\n"
    )
    job = plan(project, "dws_shop_daily")
    assert job.settings["execution.buffer-timeout.interval"] == "1000 ms"
    assert "'debezium.poll.interval.ms' = '500'" in job.script()


def test_upsert_materialize_none_is_passed_to_flink(project: Path) -> None:
    assert plan(project, "dwd_orders").settings["table.exec.sink.upsert-materialize"] == "NONE"
    edit(project, "models/dwd/dwd_orders.sql", ", upsert_materialize='none'", "")
    assert "table.exec.sink.upsert-materialize" not in plan(project, "dwd_orders").settings


def test_a_settings_change_keeps_the_query_fingerprint_unless_it_changes_the_operators(project: Path) -> None:
    before = plan(project, "dwd_orders")
    (project / "profiles.yml").write_text("targets:\n  dev:\n    jobs: {buffer_timeout: 1s}\n")
    tuned = plan(project, "dwd_orders")
    assert (tuned.fingerprint != before.fingerprint, tuned.query_fingerprint == before.query_fingerprint) == (
        True,
        True,
    )
    edit(project, "models/dwd/dwd_orders.sql", "upsert_materialize='none'", "upsert_materialize='force'")
    after = plan(project, "dwd_orders")
    assert after.settings["table.exec.sink.upsert-materialize"] == "FORCE"
    assert after.query_fingerprint != tuned.query_fingerprint  # a SinkUpsertMaterializer more: no state maps


def test_shared_queries_are_planned_once_unless_the_job_looks_up(project: Path) -> None:
    """dws_shop_daily's aggregate feeds its sink and its rejected rows: one optimizer block, one aggregate. A job
    with a processing-time lookup cannot be planned in blocks (Flink 1.20), so dwd_orders goes without."""
    assert plan(project, "dws_shop_daily").settings[PLAN_SHARED_QUERIES_ONCE] == "true"
    assert PLAN_SHARED_QUERIES_ONCE not in plan(project, "dwd_orders").settings
    assert PLAN_SHARED_QUERIES_ONCE not in plan(project, "dws_shop_minutely").settings  # its late-row floor lookup


def test_a_materialized_sink_is_reported_at_its_stream(project: Path) -> None:
    explained = (  # lines of Flink 1.20's EXPLAIN for dwd_orders with upsert_materialize='auto'
        "Sink(table=[warehouse.dwd.dwd_orders__payments], targetColumns=[[0],[1]], fields=[order_id, pay_id], "
        "upsertMaterialize=[true])\n"
        "Sink(table=[warehouse._warehouse.rejected_rows], fields=[EXPR$0, EXPR$1], upsertMaterialize=[true])\n"
        "Sink(table=[warehouse.dwd.dwd_orders__orders], targetColumns=[[0],[1]], fields=[order_id, user_id])"
    )
    findings = _materializer_findings(plan(project, "dwd_orders"), explained)
    assert [(f.code, f.severity, f.where) for f in findings] == [("WH006", "warning", "models/dwd/dwd_orders.sql:16")]


def test_sinks_batch_their_upserts_and_partial_update_streams_name_themselves(project: Path) -> None:
    script = plan(project, "dwd_orders").script()
    assert "?reWriteBatchedInserts=true&stringtype=unspecified&ApplicationName=wh.dwd_orders.payments'" in script
    assert "?reWriteBatchedInserts=true&stringtype=unspecified&ApplicationName=wh.dwd_orders.orders'" in script
    assert "ApplicationName" not in plan(project, "dws_shop_daily").script()
