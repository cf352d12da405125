from __future__ import annotations

import pytest

from tests.helpers import free_port
from warehouse.errors import ServiceUnavailable
from warehouse.gateway import GatewayClient, _page
from warehouse.http import root_cause
from warehouse.jobmanager import JobManagerClient


def test_unreachable_jobmanager_names_service_and_fix() -> None:
    port = free_port()
    with pytest.raises(ServiceUnavailable) as caught:
        JobManagerClient(f"http://127.0.0.1:{port}", timeout=2).overview()
    assert "Flink JobManager" in str(caught.value)
    assert str(port) in str(caught.value)
    assert "warehouse up" in str(caught.value)


def test_unreachable_gateway_names_service() -> None:
    with pytest.raises(ServiceUnavailable, match="SQL Gateway"):
        GatewayClient(f"http://127.0.0.1:{free_port()}", timeout=2).info()


def test_root_cause_takes_the_deepest_cause_without_frames() -> None:
    trace = (
        "org.apache.flink.table.gateway.api.utils.SqlGatewayException: Failed to fetchResults.\n"
        "\tat org.apache.flink.Foo.bar(Foo.java:1)\n"
        "Caused by: org.apache.flink.table.api.ValidationException: Object 'nope' not found\n"
        "\tat org.apache.flink.Baz.qux(Baz.java:2)\n"
    )
    assert root_cause(trace) == "org.apache.flink.table.api.ValidationException: Object 'nope' not found"


def test_result_page_parsing() -> None:
    payload = {
        "resultType": "PAYLOAD",
        "jobID": "abc",
        "nextResultUri": "/v2/next",
        "results": {
            "columns": [{"name": "id", "logicalType": {"type": "INTEGER", "nullable": False}}],
            "data": [{"kind": "INSERT", "fields": [1]}, {"kind": "UPDATE_BEFORE", "fields": [1]}],
        },
    }
    page = _page(payload)
    assert [c.name for c in page.columns] == ["id"]
    assert [r.kind for r in page.rows] == ["INSERT", "UPDATE_BEFORE"]
    assert page.job_id == "abc" and page.next_uri == "/v2/next" and page.ready
    assert not _page({"resultType": "NOT_READY", "nextResultUri": "/x"}).ready
