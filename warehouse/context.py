"""The facade: one object per project that every CLI command and the Python API go through."""

from __future__ import annotations

import sys
from collections.abc import Callable, Collection, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.catalog import Catalog, CatalogEntry
from warehouse.config import Settings, StoreConnection, job_runtime_settings, load_settings
from warehouse.embedded.stack import ComponentState, EmbeddedStack
from warehouse.errors import WarehouseError
from warehouse.gateway import GatewayClient
from warehouse.jobmanager import JobManagerClient
from warehouse.lifecycle.engine import Engine
from warehouse.lifecycle.registry import Registry
from warehouse.lifecycle.status import JobStatus, collect
from warehouse.project import DataTestResult, DbtProject, Table

if TYPE_CHECKING:  # what only some commands need is imported by their methods: the CLI starts fast
    import pyarrow as pa

    from warehouse.bench.config import BenchConfig
    from warehouse.bench.results import BenchResult
    from warehouse.checks import Finding
    from warehouse.compiler import CompiledJob
    from warehouse.demo.generator import DemoConfig, Op
    from warehouse.doctor import Check
    from warehouse.explore.adhoc import AdhocResult
    from warehouse.explore.binlog import Change
    from warehouse.lifecycle.apply import Action, Lifecycle
    from warehouse.lifecycle.bluegreen import BlueGreen
    from warehouse.lifecycle.plan import Plan
    from warehouse.lifecycle.recover import Recovered, Recovery
    from warehouse.lineage import LineageNode
    from warehouse.modeltests import ModelTestResult
    from warehouse.sync.declaration import SyncedSource
    from warehouse.sync.introspect import SourceTable
    from warehouse.sync.mirror import SyncReport

Progress = Callable[[str], None]
MYSQL_DEMO_FOLDER = "demo-mysql"  # under the stack's home: the project `demo --source mysql` runs


def stderr_progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


class Context:
    def __init__(
        self,
        project_dir: Path | str = ".",
        *,
        target: str | None = None,
        profiles_dir: Path | None = None,
        progress: Progress = stderr_progress,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.target = target
        self.profiles_dir = profiles_dir
        self.progress = progress

    # ---- wiring ---------------------------------------------------------------------------------
    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.project_dir, self.target, self.profiles_dir)

    def for_project(self, project_dir: Path) -> Context:
        """Another project folder on this context's profile: the same stack, store, home and passwords (the
        benchmark's variants of the example)."""
        variant = Context(project_dir, target=self.target, profiles_dir=self.profiles_dir, progress=self.progress)
        variant.__dict__["settings"] = self.settings.model_copy(update={"project_dir": variant.project_dir})
        return variant

    @cached_property
    def gateway(self) -> GatewayClient:
        profile = self.settings.profile
        passwords = profile.passwords()
        hint = profile.unreachable_hint("gateway_url")
        return GatewayClient(profile.flink_endpoints().gateway_url, passwords=passwords, hint=hint)

    @cached_property
    def jobmanager(self) -> JobManagerClient:
        profile = self.settings.profile
        return JobManagerClient(profile.flink_endpoints().rest_url, hint=profile.unreachable_hint("rest_url"))

    @cached_property
    def engine(self) -> Engine:
        profile = self.settings.profile
        savepoints = self.settings.savepoint_uri
        return Engine(self.gateway, self.jobmanager, profile.store_connection(), savepoints)

    @cached_property
    def project(self) -> DbtProject:
        return DbtProject(self.settings)

    @cached_property
    def lifecycle(self) -> Lifecycle:
        from warehouse.compiler import Compiler  # the compiler (sqlglot) is not needed to observe
        from warehouse.lifecycle.apply import Lifecycle
        from warehouse.lifecycle.observe import RetainedCheckpoints

        profile = self.settings.profile
        store = profile.store_connection()
        runtime = job_runtime_settings(profile, self.settings.state_uri)
        compiler = Compiler(self.project, store, profile.jobs, runtime, profile.mysql_connection())
        checkpoints = RetainedCheckpoints(self.settings.state_uri)
        return Lifecycle(
            self.project, compiler, Catalog(store), self.engine, Registry(store), checkpoints, self.progress
        )

    @staticmethod
    def init(folder: Path) -> list[Path]:
        """Scaffold a new project in `folder` (see scaffold.py); the files written, relative to it."""
        from warehouse.scaffold import init_project

        return init_project(folder)

    def refresh(self) -> None:
        """Forget the parsed project (after model files changed)."""
        for name in ("project", "lifecycle"):
            self.__dict__.pop(name, None)

    # ---- the stack ------------------------------------------------------------------------------
    def stack(self) -> EmbeddedStack:
        return EmbeddedStack(self.settings, self.progress, self.profiles_dir)

    def recovery(self) -> Recovery:
        """Jobs across restarts, from the registry alone (no project parsing)."""
        from warehouse.lifecycle.observe import RetainedCheckpoints
        from warehouse.lifecycle.recover import Recovery

        store = self.settings.profile.store_connection()
        checkpoints = RetainedCheckpoints(self.settings.state_uri)
        return Recovery(Registry(store), self.engine, checkpoints, self.progress)

    def up(self) -> tuple[list[ComponentState], list[Recovered]]:
        """Start the embedded stack (and its supervisor), then resume the jobs `down` parked or a crash stopped."""
        stack = self.stack()
        stack.up(mysql=self._has_mysql_sources())
        recovered = self.recovery().heal() if self.settings.profile.flink_is_embedded else []
        stack.start_supervisor()
        return stack.states(), recovered

    def _has_mysql_sources(self) -> bool:
        """Whether `up` starts the embedded MySQL server for this project: a source of it (a sync declaration
        included) says `connector: mysql`, or a setup script is for MySQL. Read from its files, not parsed by dbt
        (a project whose models ref() mirrors it has not synced yet does not parse)."""
        from warehouse.embedded.stack import MYSQL_SETUP_SUFFIX, SETUP_FOLDER
        from warehouse.project import MYSQL
        from warehouse.sync.declaration import declares_connector

        if any((self.project_dir / SETUP_FOLDER).glob("*" + MYSQL_SETUP_SUFFIX)):
            return True
        try:
            return declares_connector(self.project_dir, self.project.model_paths(), MYSQL)
        except WarehouseError:
            return False  # no dbt_project.yml (a stack-only folder): no project, no sources

    def down(self) -> tuple[list[Recovered], list[str]]:
        """Park every running job (stop with a savepoint), then stop the embedded stack, keeping the slots the
        parked jobs resume from. With a remote profile, nothing is stopped."""
        if not self.settings.profile.flink_is_embedded and not self.settings.profile.store_is_embedded:
            return [], []
        stack = self.stack()
        supervisor = ["supervisor"] if stack.stop_supervisor() else []  # it would resume what is being parked
        parked, keep = self._park()
        return parked, supervisor + stack.down(keep)

    def _park(self) -> tuple[list[Recovered], set[str] | None]:
        if not all(state.running for state in self.stack_states() if state.name != "supervisor"):
            self.progress("the stack is not fully running: jobs are not parked (up resumes them from checkpoints)")
        try:
            recovery = self.recovery()
            parked = recovery.park() if self.settings.profile.flink_is_embedded else []
            slots = {slot["name"] for record in recovery.registry.all().values() for slot in record.slots}
        except WarehouseError as exc:
            self.progress(f"jobs not parked, and no slot dropped: {exc.one_line()}")
            return [], None
        return parked, slots

    def stack_states(self) -> list[ComponentState]:
        return self.stack().states()

    def doctor(self) -> list[Check]:
        from warehouse.doctor import run_checks

        return run_checks(self.settings)

    def smoke(self) -> bool:
        from warehouse.smoke import run_smoke

        return run_smoke(self.engine, self.progress)

    # ---- models ---------------------------------------------------------------------------------
    def compile(self, selector: str | None = None) -> list[tuple[CompiledJob, Path]]:
        """Render the jobs that run the selected models to Flink SQL scripts under target/warehouse/ (one per job:
        a job runs every model of its group, see jobgroups.py)."""
        jobs = self.lifecycle.jobs(self.project.select(selector))
        folder = self.project_dir / "target" / "warehouse"
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for job in jobs:
            path = folder / f"{job.name}.sql"
            path.write_text(job.script())
            written.append((job, path))
        return written

    def run(
        self,
        selector: str | None = None,
        full_refresh: bool = False,
        in_place: bool = False,
        max_lag: float | None = None,
        deploy_timeout: float | None = None,
        sync_first: bool = True,
    ) -> list[Action]:
        """Sync the mirrored sources (unless `sync_first` is False: `sync --follow` has just synced them), then
        compile, decide and apply (see `plan`): start, keep, resume, upgrade or rebuild each selected job; a rebuild
        is blue/green (built beside the live tables, swapped in when caught up within `max_lag` seconds, given up
        after `deploy_timeout`) unless `in_place`."""
        if sync_first:
            self._sync_before_planning()
        return self.lifecycle.run(selector, full_refresh, None, in_place, self._deploy(max_lag, deploy_timeout))

    def _deploy(self, max_lag: float | None, timeout: float | None) -> BlueGreen:
        from warehouse.lifecycle.bluegreen import DEFAULT_MAX_LAG, DEFAULT_TIMEOUT, BlueGreen

        lag = DEFAULT_MAX_LAG if max_lag is None else max_lag
        return BlueGreen(self.lifecycle, lag, DEFAULT_TIMEOUT if timeout is None else timeout)

    def sync(self, sources: Collection[str] | None = None) -> list[SyncReport]:
        """Mirror every source that declares `sync:` (or those named in `sources`; sync/): read its database's
        catalog, evolve each mirror by the source's schema-change policy and write the mirrored models; the
        project is read again after."""
        from warehouse.sync.mirror import mirror

        chosen = [s for s in self.synced_sources() if sources is None or s.name in sources]
        reports = [mirror(self.project_dir, source, self._source_tables(source)) for source in chosen]
        if any(report.files for report in reports):
            self.refresh()
        return reports

    def synced_sources(self) -> list[SyncedSource]:
        """The sources whose yml declares `sync:`."""
        from warehouse.sync.declaration import find_declarations

        return find_declarations(self.project_dir, self.project.model_paths())

    def follow_sources(self, every: float, rounds: int | None = None) -> None:
        """`sync --follow`: sync every `every` seconds and deploy the mirrors of each source that changed."""
        from warehouse.sync.follow import follow

        follow(self, every, rounds)

    def _source_tables(self, source: SyncedSource) -> list[SourceTable]:
        from warehouse.sync.introspect import mysql_tables, pg_tables

        profile = self.settings.profile
        if source.connector == "mysql":
            return mysql_tables(profile.mysql_connection(), source.database, source.name)
        return pg_tables(profile.store_connection(), source.database, source.schema, source.name)

    def _sync_before_planning(self) -> None:
        """`plan` and `run` see the sources as they are now: a new table or column is mirrored first."""
        for report in self.sync():
            for change in report.changes:
                self.progress(f"sync {report.source}: {change}")

    def run_reviewed(self, path: Path) -> list[Action]:
        """Apply a plan written by `plan --out`, refusing if a fresh plan differs from it in any way."""
        from warehouse.lifecycle.plan import read_reviewed

        reviewed = read_reviewed(path)
        in_place = bool(reviewed.get("in_place", False))
        return self.lifecycle.run(reviewed["selector"], reviewed["full_refresh"], reviewed, in_place)

    def check(self, selector: str | None = None) -> list[Finding]:
        """Flink's planner (EXPLAIN, no job started) and the static lints, for every selected model."""
        from warehouse.checks import check_models

        return check_models(self.lifecycle, selector)

    def plan(self, selector: str | None = None, full_refresh: bool = False, in_place: bool = False) -> Plan:
        """What `run` would do, with the facts each decision rests on; applies nothing to the warehouse (the
        mirrored sources' models are synced first, as `run` does)."""
        self._sync_before_planning()
        return self.lifecycle.plan(selector, full_refresh, in_place)

    def data_tests(self, selector: str | None = None) -> list[DataTestResult]:
        """dbt's generic and singular data tests against the tables in the store."""
        return self.project.run_data_tests(selector)

    def lineage(self, target: str) -> LineageNode:
        """Column-level lineage of `MODEL.COLUMN`, down to the source columns."""
        from warehouse.lineage import lineage_for

        return lineage_for(self, target)

    def docs(self) -> Path:
        """dbt's docs site with each column's lineage and each model's Flink job; returns its folder."""
        from warehouse.docs import generate_docs

        return generate_docs(self)

    def serve_docs(self, port: int) -> None:
        from warehouse.docs import serve_docs

        serve_docs(self, port)

    def model_tests(self, selector: str | None = None, names: Sequence[str] | None = None) -> list[ModelTestResult]:
        """The models' own Flink SQL run on the YAML fixtures of unit_tests/ (bounded jobs)."""
        from warehouse.modeltests import run_model_tests

        return run_model_tests(self, selector, names)

    def bench(self, config: BenchConfig) -> BenchResult:
        """Workload W1 replayed for each contender (P0 this framework, P1 Flink join, P2 dbt loop, P3 matviews)."""
        from warehouse.bench.bench import run_bench  # the bench drives a Context: imported late, not circular

        return run_bench(self, config, self.progress)

    def bench_report(self, folder: Path | str) -> list[Path]:
        """results.md and freshness.png again from the results.json of an earlier `bench` run (a relative
        folder is under the project folder). Runs nothing and connects to no service; returns the files written."""
        from pydantic import ValidationError

        from warehouse.bench.report import rewrite_report

        path = self.project_dir / folder  # an absolute `folder` stays as it is
        if not (path / "results.json").is_file():
            raise WarehouseError(
                f"no results.json in {path}", hint="pass the --output-dir of a finished `warehouse bench` run"
            )
        try:
            return rewrite_report(path, self.progress)
        except ValidationError as exc:
            raise WarehouseError(
                f"{path / 'results.json'} is not a `warehouse bench` result ({exc.error_count()} problem(s))",
                hint="run `warehouse bench` again with this version of the warehouse",
            ) from exc

    def stop(self, selector: str | None = None) -> list[Action]:
        return self.lifecycle.stop(selector)

    def resume(self, selector: str | None = None) -> list[Action]:
        return self.lifecycle.resume(selector)

    def status(self) -> list[JobStatus]:
        store = self.settings.profile.store_connection()
        return collect(Registry(store).all(), self.jobmanager, store)

    def demo(self, orders: int = 20_000, rate: float | None = 2_000, seed: int = 42, source: str = "postgres") -> int:
        """Fresh OLTP tables, every job (re)started on them, then the load generator; returns changes fed.
        `source`: `postgres` (the store's `shop` database) or `mysql` (a MySQL `shop` database mirrored whole
        into ODS by `sync:`, then the example's DWD / DWS / ADS: demo/mysql.py)."""
        from warehouse.demo.generator import DemoConfig
        from warehouse.demo.live import feed, prepare_shop, settle

        if source == "mysql":
            return self._demo_mysql(DemoConfig(seed=seed, n_orders=orders), rate)
        store = self.settings.profile.store_connection()
        prepare_shop(store)
        self.run(full_refresh=True)
        fed = feed(store, DemoConfig(seed=seed, n_orders=orders), rate, self.progress)
        settle(store, self.progress)
        return fed

    def mysql_demo_project(self) -> Context:
        """The project `demo --source mysql` runs: the example with its ODS mirrors replaced by a MySQL `sync:`
        declaration (demo/mysql.py), under the stack's home."""
        return self.for_project(self.settings.home / MYSQL_DEMO_FOLDER)

    def _demo_mysql(self, config: DemoConfig, rate: float | None) -> int:
        from warehouse.demo.live import feed, settle
        from warehouse.demo.mysql import apply_mysql, prepare_mysql_shop, write_variant

        variant = self.for_project(write_variant(self.project_dir, self.settings.home / MYSQL_DEMO_FOLDER))
        variant.up()  # starts MySQL for it
        login = self.settings.profile.mysql_connection()
        prepare_mysql_shop(login)
        self.progress(f"the variant project with the MySQL sync is in {variant.project_dir}")
        variant.run(full_refresh=True)
        store = self.settings.profile.store_connection()

        def to_mysql(ops: list[Op], rate: float | None, progress: Progress | None) -> int:
            return apply_mysql(login, ops, rate, progress)

        fed = feed(store, config, rate, self.progress, to_mysql)
        settle(store, self.progress)
        return fed

    # ---- exploring ------------------------------------------------------------------------------
    def table_of(self, model: str) -> Table:
        for candidate in self.project.models.values():
            if candidate.name == model:
                return candidate.table
        known = ", ".join(sorted(m.name for m in self.project.models.values()))
        raise WarehouseError(f"no model named '{model}'", hint=f"models: {known}")

    def explore_batch(
        self,
        model: str,
        columns: Sequence[str] | None = None,
        where: str | None = None,
        order_by: Sequence[str] | None = None,
        limit: int | None = None,
    ) -> pa.Table:
        """The model's table as it is now, as a pyarrow.Table (`.to_pandas()` for a DataFrame)."""
        from warehouse.explore.batch import read_table

        return read_table(self.store.as_reader(), self.table_of(model), columns, where, order_by, limit)

    def explore_stream(
        self, model: str, snapshot: bool = False, limit: int | None = None, timeout: float | None = None
    ) -> Iterator[Change]:
        """The model's live change stream (binlog metadata + row), through a temporary slot."""
        from warehouse.explore.binlog import reap_orphans, stream_changes

        reap_orphans(self.store)
        return stream_changes(self.store.as_reader(), self.table_of(model), snapshot, limit, timeout, self.progress)

    def sql(self, statement: str, stream: bool = False, limit: int = 1000, timeout: float = 60.0) -> AdhocResult:
        """Ad-hoc Flink SQL where model names are catalog tables; queries only, never writes."""
        from warehouse.explore.adhoc import run_query

        tables = {model.name: model.table for model in self.project.models.values()}
        return run_query(self.engine, tables, statement, stream, limit, timeout)

    @property
    def store(self) -> StoreConnection:
        return self.settings.profile.store_connection()

    def catalog(self) -> list[CatalogEntry]:
        models = [self.project.models[uid] for uid in self.project.select(None)]
        return self.lifecycle.catalog.entries(models)
