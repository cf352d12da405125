"""A tiny JSON-over-HTTP client for Flink's REST APIs, with errors that name the service."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from warehouse.errors import FlinkError, NotFound, ServiceUnavailable


class JsonHttp:
    def __init__(self, base_url: str, service: str, hint: str, timeout: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.service = service
        self.hint = hint
        self.timeout = timeout

    def get(self, path: str, **params: str) -> Any:
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        return self.request("GET", f"{path}{query}")

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.request("POST", path, body if body is not None else {})

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def patch(self, path: str) -> Any:
        return self.request("PATCH", path)

    def request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.base_url}{path}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            kind = NotFound if exc.code == 404 else FlinkError
            raise kind(f"{self.service} answered {exc.code} to {method} {path}: {_flink_message(exc)}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ServiceUnavailable(
                f"cannot reach {self.service} at {self.base_url}: {reason}", hint=self.hint
            ) from None
        return json.loads(payload) if payload else {}


def _flink_message(exc: urllib.error.HTTPError) -> str:
    """Flink puts a Java stack trace in `errors`; keep the informative lines."""
    try:
        errors = json.loads(exc.read()).get("errors", [])
    except (ValueError, OSError):
        return str(exc.reason)
    text = "\n".join(str(e) for e in errors)
    return root_cause(text) or str(exc.reason)


def root_cause(trace: str) -> str:
    """The deepest 'Caused by' of a Java stack trace (or its first line), without frames."""
    lines = [line.strip() for line in trace.splitlines() if line.strip() and not line.strip().startswith("at ")]
    causes = [line.removeprefix("Caused by: ") for line in lines if line.startswith("Caused by:")]
    positioned = [cause for cause in causes if re.search(r"line \d+, column \d+", cause)]
    chosen = (positioned or causes or lines or [""])[-1] if causes else (lines[0] if lines else "")
    return chosen[:2000]
