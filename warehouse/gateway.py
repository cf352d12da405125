"""Flink SQL Gateway REST client: sessions, statements, statement sets, paged results, job ids.

This is the only way the control plane hands SQL to Flink: the same code serves the embedded
session cluster and a production one.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from warehouse.errors import FlinkError, WarehouseError
from warehouse.http import JsonHttp
from warehouse.secrets import resolve, scrub

API = "/v2"
FIRST_PAUSE = 0.005
LONGEST_PAUSE = 0.2
HINT = "start the embedded stack with `warehouse up`, or check flink.gateway_url in profiles.yml"


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class Row:
    kind: str  # INSERT, UPDATE_BEFORE, UPDATE_AFTER, DELETE
    fields: list[Any]


@dataclass
class StatementResult:
    columns: list[Column] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    job_id: str | None = None
    complete: bool = True


@dataclass(frozen=True)
class Page:
    columns: list[Column]
    rows: list[Row]
    job_id: str | None
    next_uri: str | None
    ready: bool


class GatewayClient:
    """`passwords` (by store user) resolve the `${password:<user>}` references of the statements sent."""

    def __init__(
        self, url: str, timeout: float = 120.0, passwords: Mapping[str, str] | None = None, hint: str = HINT
    ) -> None:
        self.http = JsonHttp(url, "Flink SQL Gateway", hint, timeout)
        self.passwords = dict(passwords or {})

    def info(self) -> dict[str, Any]:
        result: dict[str, Any] = self.http.get(f"{API}/info")
        return result

    def open_session(self, properties: dict[str, str] | None = None, name: str = "warehouse") -> Session:
        body = {"sessionName": name, "properties": properties or {}}
        handle = self.http.post(f"{API}/sessions", body)["sessionHandle"]
        return Session(self.http, handle, self.passwords)


class Session:
    """One gateway session. Use as a context manager so it is closed."""

    def __init__(self, http: JsonHttp, handle: str, passwords: Mapping[str, str] | None = None) -> None:
        self.http = http
        self.handle = handle
        self.passwords = dict(passwords or {})

    def __enter__(self) -> Session:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(FlinkError):  # already expired or closed
            self.http.delete(f"{API}/sessions/{self.handle}")

    def heartbeat(self) -> None:
        self.http.post(f"{API}/sessions/{self.handle}/heartbeat")

    def execute(self, statement: str, *, max_rows: int = 10_000, timeout: float = 300.0) -> StatementResult:
        """Run a statement and collect its result (bounded by rows and time for queries)."""
        operation = self.submit(statement)
        try:
            return self._collect(operation, max_rows, timeout)
        finally:
            self.close_operation(operation)

    def execute_statement_set(self, inserts: list[str], **kwargs: Any) -> StatementResult:
        body = "\n".join(f"  {insert.strip().rstrip(';')};" for insert in inserts)
        return self.execute(f"EXECUTE STATEMENT SET BEGIN\n{body}\nEND", **kwargs)

    def submit(self, statement: str) -> str:
        """Send a statement (its password references resolved at the last moment)."""
        body = {"statement": resolve(statement, self.passwords)}
        with self._scrubbed():
            result = self.http.post(f"{API}/sessions/{self.handle}/statements", body)
        return str(result["operationHandle"])

    @contextlib.contextmanager
    def _scrubbed(self) -> Iterator[None]:
        """No password in an error Flink sends back (it may quote a statement)."""
        try:
            yield
        except WarehouseError as exc:
            exc.message = scrub(exc.message, self.passwords)
            exc.args = (exc.one_line(),)
            raise

    def pages(self, operation: str, timeout: float) -> Iterator[Page]:
        """Result pages until end of stream or `timeout`; empty pages while results are not ready."""
        uri: str | None = f"{API}/sessions/{self.handle}/operations/{operation}/result/0?rowFormat=JSON"
        deadline = time.monotonic() + timeout
        pause = FIRST_PAUSE  # most statements answer within milliseconds: poll fast, then back off
        while uri and time.monotonic() < deadline:
            with self._scrubbed():
                page = _page(self.http.get(uri))
            yield page
            uri = page.next_uri
            if page.rows:
                pause = FIRST_PAUSE
            else:
                time.sleep(pause)
                pause = min(pause * 2, LONGEST_PAUSE)

    def cancel_operation(self, operation: str) -> None:
        with contextlib.suppress(FlinkError):
            self.http.post(f"{API}/sessions/{self.handle}/operations/{operation}/cancel")

    def close_operation(self, operation: str) -> None:
        with contextlib.suppress(FlinkError):
            self.http.delete(f"{API}/sessions/{self.handle}/operations/{operation}/close")

    def _collect(self, operation: str, max_rows: int, timeout: float) -> StatementResult:
        result = StatementResult(complete=False)
        for page in self.pages(operation, timeout):
            result.columns = page.columns or result.columns
            result.job_id = page.job_id or result.job_id
            result.rows.extend(page.rows)
            if page.next_uri is None:
                result.complete = True
            if len(result.rows) >= max_rows:
                del result.rows[max_rows:]
                self.cancel_operation(operation)
                break
        return result


def _page(payload: dict[str, Any]) -> Page:
    results = payload.get("results") or {}
    columns = [Column(c["name"], c["logicalType"]["type"]) for c in results.get("columns", [])]
    rows = [Row(r.get("kind", "INSERT"), r["fields"]) for r in results.get("data", [])]
    return Page(
        columns=columns,
        rows=rows,
        job_id=payload.get("jobID"),
        next_uri=payload.get("nextResultUri"),
        ready=payload.get("resultType") != "NOT_READY",
    )
