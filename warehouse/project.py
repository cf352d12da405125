"""The project engine: dbt-core parses the project, resolves refs, selects and renders models.

Nothing here re-implements dbt: the manifest (models, sources, columns, configs, the DAG) and the
compiled SQL come from dbt's public `dbtRunner`; this module turns them into the warehouse's view.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from warehouse import projectcache
from warehouse.config import Settings
from warehouse.connectors import LookupCache
from warehouse.errors import ConfigError, ServiceUnavailable, WarehouseError
from warehouse.identifiers import unquotable_problem
from warehouse.model_config import MATERIALIZATIONS, TableSettings, table_settings
from warehouse.projectcache import ProjectView
from warehouse.types import unsupported

LOOKUP_META = "warehouse_lookup__"
POSTGRES, MYSQL = "postgres", "mysql"  # the systems a source table can live in
SYNC_META = "warehouse_sync"  # the meta key of a model `warehouse sync` wrote (a mirror of a source table)


class ModelError(WarehouseError):
    """A model does not compile or breaks a rule; `where` names its file (and line when known)."""


@dataclass(frozen=True)
class Column:
    name: str
    data_type: str
    description: str = ""


@dataclass(frozen=True)
class Table:
    """A table of the catalog: a model's table in the warehouse, or an OLTP source table."""

    unique_id: str
    database: str
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    description: str = ""
    connector: str = POSTGRES  # where a source table lives: the store's PostgreSQL, or a MySQL server

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]


@dataclass(frozen=True)
class Model:
    table: Table
    path: str
    materialized: str
    settings: TableSettings
    depends_on: tuple[str, ...]
    lookups: dict[str, LookupCache] = field(default_factory=dict)
    raw_code: str = ""
    mirror: bool = False  # written by `warehouse sync`: a source table's mirror

    @property
    def name(self) -> str:
        return self.table.name

    @property
    def unique_id(self) -> str:
        return self.table.unique_id


@dataclass(frozen=True)
class DataTestResult:
    name: str
    status: str  # pass | fail | warn | error
    failures: int
    message: str
    path: str


class DbtProject:
    """One dbt project (the warehouse project folder), parsed once per instance."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.project_dir = settings.project_dir
        if not (self.project_dir / "dbt_project.yml").exists():
            raise ConfigError(
                f"no dbt_project.yml in {self.project_dir}",
                hint="run inside the project folder or pass --project-dir",
            )

    # ---- dbt invocation -------------------------------------------------------------------------
    @cached_property
    def manifest(self) -> Any:
        return self._invoke(["parse"])

    def compile(self, unique_ids: list[str]) -> dict[str, str]:
        """Compiled (rendered) SQL of the given models."""
        return {uid: self.view.compiled[uid] for uid in unique_ids}

    def _compile_with_dbt(self, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        results = self._invoke(["compile", "--no-populate-cache", "--no-introspect", "-s", *names], manifest=True)
        return {r.node.unique_id: r.node.compiled_code for r in results.results if r.node.resource_type == "model"}

    def select(self, selector: str | None) -> list[str]:
        """Model ids matching a dbt selector (all models when None), in DAG order."""
        if not selector:
            return self.ordered(list(self.models))
        args = ["ls", "--resource-type", "model", "--output", "json", "--output-keys", "unique_id", "-s", selector]
        lines = self._invoke(args, manifest=True)
        return self.ordered([json.loads(line)["unique_id"] for line in lines])

    def run_data_tests(self, selector: str | None) -> list[DataTestResult]:
        """dbt's generic and singular data tests, run against the tables in the store."""
        args = ["test", "--exclude", "test_type:unit", *(["--select", selector] if selector else [])]
        results = self._invoke(args, manifest=True, check=False)
        return [_data_test_result(r) for r in getattr(results, "results", [])]

    def generate_docs(self, with_catalog: bool) -> None:
        """dbt's docs site under target/ (models are not compiled again: `warehouse compile` did)."""
        catalog = [] if with_catalog else ["--empty-catalog"]
        self._invoke(["docs", "generate", "--no-compile", *catalog], manifest=True)

    def _invoke(self, args: list[str], manifest: bool = False, check: bool = True) -> Any:
        from dbt.cli.main import dbtRunner

        _register_adapter()
        profiles_dir = self._write_dbt_profile()
        common = ["--project-dir", str(self.project_dir), "--profiles-dir", str(profiles_dir), "--log-level", "none"]
        common += ["--log-path", str(self.settings.home / "dbt" / "logs"), "--no-use-colors"]
        runner = dbtRunner(manifest=self.manifest) if manifest else dbtRunner()
        words = 2 if args[0] == "docs" else 1  # `docs generate`: options follow the whole command
        result = runner.invoke([*args[:words], *common, *args[words:]])
        if result.exception is not None or (check and not result.success):
            raise _model_error(result.exception, self.project_dir)
        return result.result

    def _write_dbt_profile(self) -> Path:
        from warehouse import dbt_adapter  # dbt's import costs seconds: only commands that parse pay it

        store = self.settings.profile.store_connection()
        output = {
            "type": dbt_adapter.ADAPTER_TYPE,
            "host": store.host,
            "port": store.port,
            "user": store.user,
            "password": "{{ env_var('WAREHOUSE_STORE_PASSWORD', '') }}",
            "dbname": store.database,
            "schema": "public",
            "threads": 4,
        }
        profile = {self._profile_name(): {"target": "warehouse", "outputs": {"warehouse": output}}}
        folder = self.settings.home / "dbt"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "profiles.yml").write_text(yaml.safe_dump(profile))
        os.environ["WAREHOUSE_STORE_PASSWORD"] = store.password.get_secret_value()
        return folder

    def model_paths(self) -> list[str]:
        """The folders dbt reads models (and their yml) from."""
        configured = self._dbt_project().get("model-paths")
        return [str(path) for path in configured] if isinstance(configured, list) else ["models"]

    def _profile_name(self) -> str:
        project = self._dbt_project()
        return str(project.get("profile") or project.get("name") or "warehouse")

    def _dbt_project(self) -> dict[str, Any]:
        path = self.project_dir / "dbt_project.yml"
        try:
            project = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            place = (
                f":{exc.problem_mark.line + 1}" if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark else ""
            )
            problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
            hint = "correct the YAML at that line"
            raise ConfigError(f"not valid YAML: {problem}", where=f"{path}{place}", hint=hint) from None
        if not isinstance(project, dict):
            raise ConfigError("expected a mapping (name:, profile:, model-paths: ...)", where=str(path))
        return project

    # ---- the warehouse's view of the manifest --------------------------------------------------
    @cached_property
    def view(self) -> ProjectView:
        """Models, sources and compiled SQL: from the last parse when no input of dbt changed since
        (projectcache.py), else from dbt (and kept for the next command)."""
        key = self._cache_key()
        cached = projectcache.load(self.project_dir, key)
        if cached is not None:
            return cached
        nodes = [node for node in self.manifest.nodes.values() if node.resource_type == "model"]
        tables = {node.name: node.alias or node.name for node in nodes}  # dbt name -> table name (an alias)
        view = ProjectView(
            models={node.unique_id: _model(node, tables) for node in nodes},
            sources={uid: _source(source) for uid, source in self.manifest.sources.items()},
            dbt_names={node.unique_id: str(node.name) for node in nodes},
            compiled=self._compile_with_dbt([str(node.name) for node in nodes]),
        )
        projectcache.save(self.project_dir, key, view)
        return view

    @property
    def models(self) -> dict[str, Model]:
        return self.view.models

    @property
    def sources(self) -> dict[str, Table]:
        return self.view.sources

    def dbt_name(self, unique_id: str) -> str:
        """The name dbt selects a model by (its table may carry an `alias`)."""
        return self.view.dbt_names[unique_id]

    def _cache_key(self) -> str | None:
        store = self.settings.profile.store_connection()
        context = f"{self.settings.target}|{store.host}:{store.port}/{store.database}|{store.user}"
        files = projectcache.dbt_inputs(self.project_dir, self._dbt_project())
        return projectcache.fingerprint(self.project_dir, files, context)

    def table(self, unique_id: str) -> Table:
        if unique_id in self.models:
            return self.models[unique_id].table
        return self.sources[unique_id]

    def ordered(self, unique_ids: list[str]) -> list[str]:
        """Topological order (upstream first), stable by name."""
        wanted, done, order = set(unique_ids), set[str](), list[str]()

        def visit(uid: str) -> None:
            if uid in done or uid not in self.models:
                return
            done.add(uid)
            for upstream in sorted(self.models[uid].depends_on):
                visit(upstream)
            if uid in wanted:
                order.append(uid)

        for uid in sorted(unique_ids, key=lambda u: self.models[u].name if u in self.models else u):
            visit(uid)
        return order

    def downstream(self, unique_ids: list[str]) -> list[str]:
        """The given models and every model that depends on them, in DAG order."""
        found = set(unique_ids)
        changed = True
        while changed:
            extra = {uid for uid, m in self.models.items() if uid not in found and found & set(m.depends_on)}
            found |= extra
            changed = bool(extra)
        return self.ordered(list(found))


def _data_test_result(result: Any) -> DataTestResult:
    node = result.node
    status = str(getattr(result.status, "value", result.status))
    return DataTestResult(
        node.name, status, int(result.failures or 0), str(result.message or ""), node.original_file_path
    )


def _register_adapter() -> None:
    """dbt imports adapters as `dbt.adapters.<type>`; ours lives inside the warehouse package."""
    from warehouse import dbt_adapter

    sys.modules.setdefault(f"dbt.adapters.{dbt_adapter.ADAPTER_TYPE}", dbt_adapter)


def _model(node: Any, tables: dict[str, str]) -> Model:
    """The warehouse's model of a dbt node; `tables` maps dbt model names to their tables' names, the names the
    compiler looks a dimension's cache settings up by."""
    where = node.original_file_path
    materialized = node.config.materialized
    if materialized not in MATERIALIZATIONS:
        raise ModelError(
            f"materialized='{materialized}' is not a streaming materialization",
            where=where,
            hint=f"use one of {', '.join(MATERIALIZATIONS)}",
        )
    settings = table_settings(dict(node.config._extra), where)
    columns = tuple(_columns(node.columns, where))
    _check_primary_key(settings.primary_key, columns, where)
    _check_supported(columns, where, written=True)
    _check_unquoted_names(columns, where)
    table = Table(
        node.unique_id,
        node.database,
        node.schema,
        node.alias or node.name,
        columns,
        tuple(settings.primary_key),
        node.description or "",
    )
    lookups = {tables.get(name, name): cache for name, cache in _lookups(node.config.meta or {}).items()}
    depends = tuple(uid for uid in node.depends_on.nodes if uid.startswith(("model.", "source.")))
    mirror = SYNC_META in (node.config.meta or {})
    return Model(table, where, materialized, settings, depends, lookups, node.raw_code, mirror)


def _source(source: Any) -> Table:
    where = f"{source.original_file_path} (source {source.source_name}.{source.name})"
    primary_key = (source.meta or {}).get("primary_key") or (source.source_meta or {}).get("primary_key")
    connector = _source_connector(source, where)
    columns = tuple(_columns(source.columns, where))
    if connector == MYSQL:
        columns = tuple(_from_mysql(column, where) for column in columns)
    if not primary_key:
        raise ModelError(
            "source table has no primary key",
            where=where,
            hint="add `meta: {primary_key: [col, ...]}` to the source table in its yml",
        )
    _check_primary_key(list(primary_key), columns, where)
    _check_supported(columns, where, written=False)
    name = source.identifier or source.name
    return Table(
        source.unique_id,
        source.database,
        source.schema,
        name,
        columns,
        tuple(primary_key),
        source.description,
        connector,
    )


def _source_connector(source: Any, where: str) -> str:
    connector = (source.source_meta or {}).get("connector", POSTGRES)
    if connector not in (POSTGRES, MYSQL):
        raise ModelError(
            f"unknown source connector '{connector}'",
            where=where,
            hint=f"set `meta: {{connector: {MYSQL}}}` on a MySQL source, or leave it out for a PostgreSQL one",
        )
    return str(connector)


def _from_mysql(column: Column, where: str) -> Column:
    """A MySQL source column is declared with its MySQL type; the catalog and jobs see its store type."""
    from warehouse.mysqltypes import pg_type

    try:
        return Column(column.name, pg_type(column.data_type), column.description)
    except ConfigError as exc:
        raise ModelError(f"column '{column.name}': {exc.message}", where=where, hint=exc.hint) from None


def _columns(columns: dict[str, Any], where: str) -> list[Column]:
    if not columns:
        raise ModelError(
            "no columns declared",
            where=where,
            hint="declare every column with its data_type in the schema yml (the catalog creates the table from it)",
        )
    found = []
    for name, info in columns.items():
        if not info.data_type:
            raise ModelError(f"column '{name}' has no data_type", where=where, hint="add `data_type: <postgres type>`")
        found.append(Column(name, info.data_type, info.description or ""))
    return found


def _check_unquoted_names(columns: tuple[Column, ...], where: str) -> None:
    """A model's columns are written and looked up by Flink's JDBC connector, which quotes no name."""
    for column in columns:
        problem = unquotable_problem(column.name)
        if problem:
            raise ModelError(
                f"column '{column.name}' {problem}: Flink's JDBC sink writes column names unquoted",
                where=where,
                hint="rename it in the schema yml and the SELECT (e.g. `... AS order_status`)",
            )


def _check_supported(columns: tuple[Column, ...], where: str, written: bool) -> None:
    """Refuse a type no job could carry without loss (types.unsupported), naming the column and the fix."""
    for column in columns:
        problem = unsupported(column.data_type, written)
        if problem:
            message = f"column '{column.name}' ({column.data_type}): {problem.reason}"
            raise ModelError(message, where=where, hint=problem.fix)


def _check_primary_key(primary_key: list[str], columns: tuple[Column, ...], where: str) -> None:
    missing = [key for key in primary_key if key not in {c.name for c in columns}]
    if missing:
        raise ModelError(f"primary key column(s) {missing} are not declared columns", where=where)


def _lookups(meta: dict[str, Any]) -> dict[str, LookupCache]:
    return {key[len(LOOKUP_META) :]: LookupCache(**value) for key, value in meta.items() if key.startswith(LOOKUP_META)}


def _model_error(exception: BaseException | None, project_dir: Path) -> WarehouseError:
    if isinstance(exception, WarehouseError):
        return exception
    text = str(exception or "dbt failed").strip()
    if re.search(r"connection to server|Connection refused|could not connect", text, re.I):
        first = " ".join(text.split())[:300]
        return ServiceUnavailable(f"dbt cannot reach the store: {first}", hint="start the stack with `warehouse up`")
    path = re.search(r"\(([^()]+\.(?:sql|yml|yaml))\)", text)
    line = re.search(r"line (\d+)", text)
    where = None
    if path:
        where = path.group(1) + (f":{line.group(1)}" if line else "")
    message = " ".join(part.strip() for part in text.splitlines()[1:] if part.strip()) or text
    return ModelError(message, where=where, hint="fix the model (see the message); `warehouse compile` re-checks")
