"""`warehouse test` for models: each unit test runs the model's own Flink SQL on its fixtures, bounded.

Every fixture is validated against the project before anything reaches Flink (a wrong file stops the run
with one error naming file and key). Then each test is one bounded streaming job in its own gateway session:
the fixture files and lookup tables are written, the model's stream views declared over them, the query's
changelog collected, folded into the final table (or kept as the changelog) and compared.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.compiler import CompiledJob, Compiler
from warehouse.config import StoreConnection
from warehouse.errors import FlinkError, WarehouseError
from warehouse.gateway import GatewayClient
from warehouse.modeltests.diff import changelog_diff, table_diff
from warehouse.modeltests.expectations import Expectation, expectation
from warehouse.modeltests.fixtures import UnitTest, load_unit_tests
from warehouse.modeltests.fold import Emitted, emitted, final_table
from warehouse.modeltests.inputs import LookupInput, StreamInput, resolve_inputs
from warehouse.modeltests.render import changelog_lines, declarations, query, session_properties, stream_views
from warehouse.modeltests.scratch import lookup_tables, reap_orphan_schemas
from warehouse.project import DbtProject

MAX_ROWS = 100_000
TIMEOUT_SECONDS = 120.0
CONCURRENT_TESTS = 4
GATEWAY_ANSWER = re.compile(r"^.*? answered \d+ to [A-Z]+ \S+: ")
_runs = itertools.count()

if TYPE_CHECKING:
    from warehouse.context import Context


@dataclass(frozen=True)
class ModelTestResult:
    name: str
    model: str
    passed: bool
    diff: str  # empty when passed; the readable difference, or the error that stopped the test
    seconds: float
    path: str = ""  # the fixture file, relative to the project


@dataclass(frozen=True)
class PreparedTest:
    test: UnitTest
    plan: CompiledJob
    streams: list[StreamInput]
    lookups: list[LookupInput]
    expectation: Expectation


def run_model_tests(
    context: Context, selector: str | None = None, names: Sequence[str] | None = None
) -> list[ModelTestResult]:
    """Run the unit tests of the models `selector` picks (all when None), or only those `names`."""
    tests = _selected(context, load_unit_tests(context.project_dir), selector, names)
    if not tests:
        return []
    prepared = _prepare(context, tests)
    context.progress(f"running {len(prepared)} unit test(s) of {len({t.model for t in tests})} model(s) on Flink")
    store = context.settings.profile.store_connection()
    reap_orphan_schemas(store, sorted({lookup.table.database for p in prepared for lookup in p.lookups}))
    with _workspace(context.settings.home) as folder, ThreadPoolExecutor(CONCURRENT_TESTS) as pool:
        job = _TestJob(context.gateway, store, folder)
        return list(pool.map(job.run, prepared))


def _selected(
    context: Context, tests: list[UnitTest], selector: str | None, names: Sequence[str] | None
) -> list[UnitTest]:
    if names:
        unknown = sorted(set(names) - {test.name for test in tests})
        if unknown:
            known = ", ".join(test.name for test in tests) or "none"
            raise WarehouseError(f"no unit test named {', '.join(unknown)}", hint=f"unit tests: {known}")
        tests = [test for test in tests if test.name in names]
    models = {model.name: model.unique_id for model in context.project.models.values()}
    for test in tests:
        if test.model not in models:
            raise test.error("model", f"'{test.model}' is not a model of the project")
    if selector:
        chosen = set(context.project.select(selector))
        tests = [test for test in tests if models[test.model] in chosen]
    return tests


def _prepare(context: Context, tests: list[UnitTest]) -> list[PreparedTest]:
    """Compile the models once and check every fixture against them, before any job runs."""
    _require_local_flink(context)
    uids = {model.name: model.unique_id for model in context.project.models.values()}
    plans = {plan.model.name: plan for plan in context.lifecycle.compile(sorted({uids[t.model] for t in tests}))}
    compiler = Compiler(context.project, context.settings.profile.store_connection(), context.settings.profile.jobs)
    return [prepare(test, plans[test.model], context.project, compiler) for test in tests]


def prepare(test: UnitTest, plan: CompiledJob, project: DbtProject, compiler: Compiler) -> PreparedTest:
    """One test checked against its model's job: its inputs as events, its expectation typed."""
    streams, lookups = resolve_inputs(test, plan, project, compiler)
    return PreparedTest(test, plan, streams, lookups, expectation(test, plan))


def _require_local_flink(context: Context) -> None:
    if not context.settings.profile.flink_is_embedded:
        raise WarehouseError(
            "model unit tests feed their fixtures as files the Flink cluster reads, and a remote cluster cannot",
            hint="run `warehouse test` against a target with `flink: embedded`",
        )


@contextmanager
def _workspace(home: Path) -> Iterator[Path]:
    folder = home / "unit_tests" / f"{os.getpid()}_{next(_runs)}"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class _TestJob:
    """Runs one prepared test as a bounded Flink job and judges its output."""

    def __init__(self, gateway: GatewayClient, store: StoreConnection, folder: Path) -> None:
        self.gateway = gateway
        self.store = store
        self.folder = folder

    def run(self, prepared: PreparedTest) -> ModelTestResult:
        started = time.monotonic()
        try:
            difference = _judge(prepared, self._changes(prepared))
        except FlinkError as exc:
            difference = f"error: Flink: {GATEWAY_ANSWER.sub('', exc.message)}"
        except WarehouseError as exc:
            difference = f"error: {exc.one_line()}"
        seconds = time.monotonic() - started
        test = prepared.test
        return ModelTestResult(test.name, test.model, not difference, difference, seconds, test.path)

    def _changes(self, prepared: PreparedTest) -> list[Emitted]:
        files = self._write_inputs(prepared)
        with (
            lookup_tables(self.store, prepared.lookups) as scratch,
            self.gateway.open_session(session_properties(prepared.test.name)) as session,
        ):
            for statement in declarations(prepared.streams, prepared.lookups, files, scratch, self.store):
                session.execute(statement)
            for statement in stream_views(prepared.plan):
                session.execute(statement)
            result = session.execute(query(prepared.plan), max_rows=MAX_ROWS, timeout=TIMEOUT_SECONDS)
        if not result.complete:
            raise WarehouseError(f"the job did not finish within {TIMEOUT_SECONDS:.0f}s or {MAX_ROWS} rows")
        return emitted(result.rows, prepared.plan)

    def _write_inputs(self, prepared: PreparedTest) -> dict[str, Path]:
        folder = self.folder / prepared.test.name
        folder.mkdir(parents=True, exist_ok=True)
        files = {}
        for index, stream in enumerate(prepared.streams):
            path = folder / f"{index}_{stream.table.name}.json"
            path.write_text("".join(line + "\n" for line in changelog_lines(stream)))
            files[stream.table.unique_id] = path
        return files


def _judge(prepared: PreparedTest, changes: list[Emitted]) -> str:
    model = prepared.plan.model.name
    if prepared.expectation.kind == "changelog":
        return changelog_diff(model, prepared.expectation, changes)
    return table_diff(model, prepared.expectation, final_table(changes, prepared.plan))
