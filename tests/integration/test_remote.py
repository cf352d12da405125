"""The example on a "remote" cluster: a profile naming another stack's endpoints (its PostgreSQL with a password
from the environment, its SQL Gateway and JobManager), that stack started with two TaskManagers, and the jobs
at parallelism 2: keyed shuffles and several sink writers per table, as on a real cluster. The jobs carry their
own checkpointing and restart settings (the remote cluster's defaults are not relied on)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO, copy_project, feed
from tests.helpers import SHARED_CACHE, write_profile
from tests.integration.oracle import assert_drains_to_oracle
from warehouse.context import Context
from warehouse.demo.generator import DemoConfig
from warehouse.demo.live import prepare_shop
from warehouse.secrets import READER_USER

WORKLOAD = DemoConfig(seed=61, n_orders=800, n_users=60, n_shops=10, n_products=30)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Context]:
    """A second embedded stack with two TaskManagers, standing in for a remote cluster."""
    folder = tmp_path_factory.mktemp("cluster")
    write_profile(folder, embedded={"taskmanagers": 2, "task_slots": 16})
    context = Context(folder)
    context.up()
    try:
        yield context
    finally:
        context.down()


def remote_profile(project: Path, cluster: Context) -> None:
    embedded, store = cluster.settings.profile.embedded, cluster.store
    assert store.reader is not None
    target = {
        "store": {
            "host": "127.0.0.1",
            "port": embedded.postgres_port,
            "user": "postgres",
            "password": '{{ env_var("REMOTE_STORE_PASSWORD") }}',
            "reader": {"user": READER_USER, "password": '{{ env_var("REMOTE_READER_PASSWORD") }}'},
        },
        "flink": {
            "gateway_url": f"http://127.0.0.1:{embedded.gateway_port}",
            "rest_url": f"http://127.0.0.1:{embedded.rest_port}",
        },
        "parallelism": 2,
        "checkpoint_interval": "2s",
        "jar_cache": str(SHARED_CACHE),
    }
    (project / "profiles.yml").write_text(yaml.safe_dump({"target": "remote", "targets": {"remote": target}}))


def test_the_example_on_a_remote_cluster_at_parallelism_2(
    cluster: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = cluster.store
    assert store.reader is not None
    monkeypatch.setenv("REMOTE_STORE_PASSWORD", store.password.get_secret_value())
    monkeypatch.setenv("REMOTE_READER_PASSWORD", store.reader.password.get_secret_value())
    copy_project(REPO, tmp_path, cluster.project_dir / "profiles.yml")
    remote_profile(tmp_path, cluster)
    context = Context(tmp_path)
    assert not context.settings.profile.flink_is_embedded and not context.settings.profile.store_is_embedded
    assert context.up() == ([], [])  # nothing to start for a remote profile
    assert all(check.ok for check in context.doctor() if not check.name.startswith("job ")), context.doctor()

    prepare_shop(context.store)
    feed(context, WORKLOAD, products=True)
    context.run(full_refresh=True)
    feed(context, WORKLOAD, products=False)
    assert_drains_to_oracle(context, timeout=420)

    record = context.lifecycle.registry.all()["ods_orders"]  # the job that runs dwd_orders
    assert record.job_id
    job = context.jobmanager.job(record.job_id)
    assert max(int(vertex["parallelism"]) for vertex in job["vertices"]) == 2
    assert context.jobmanager.completed_checkpoints(record.job_id) > 0  # the job's own checkpoint settings
    assert int(context.jobmanager.overview()["taskmanagers"]) == 2
    assert context.explore_batch("dws_shop_daily", limit=2).num_rows == 2  # as the remote read-only login
