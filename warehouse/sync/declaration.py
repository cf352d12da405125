"""The `sync:` declaration of a source: which tables of its database are mirrored into ODS, and how.

    sources:
      - name: shop
        database: shop
        schema: shop
        meta:
          connector: mysql
          sync:
            include: ["*"]              # table name patterns (fnmatch)
            exclude: ["tmp_*"]
            models: "ods_{table}"       # the mirrored model's name
            folder: models/ods          # where `warehouse sync` writes the mirrored models
            schema_changes: lenient     # evolve | lenient | exception | ignore (evolution.py)
            keys: {audit_log: [id]}     # a declared key for a table that has no primary key

dbt lets one source's tables be declared across files, so the declaration stands alone (no `tables:`)
and the generated `<folder>/_sync/<source>.yml` declares the tables. dbt keeps no node for a source without
tables, so the declaration is read from the yml files themselves.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from warehouse.errors import ConfigError

Policy = Literal["evolve", "lenient", "exception", "ignore"]


class SyncSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    include: list[str] = Field(default_factory=lambda: ["*"])
    exclude: list[str] = Field(default_factory=list)
    models: str = "ods_{table}"
    folder: str = "models/ods"
    schema_changes: Policy = "lenient"
    keys: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("models")
    @classmethod
    def _names_each_table(cls, value: str) -> str:
        if "{table}" not in value:
            raise ValueError("must contain {table}, e.g. ods_{table}")
        return value

    def mirrors(self, table: str) -> bool:
        included = any(fnmatch.fnmatchcase(table, pattern) for pattern in self.include)
        return included and not any(fnmatch.fnmatchcase(table, pattern) for pattern in self.exclude)

    def model_name(self, table: str) -> str:
        return self.models.format(table=table)


@dataclass(frozen=True)
class SyncedSource:
    """A source with a sync declaration, as its yml file says."""

    name: str
    database: str
    schema: str
    connector: str
    spec: SyncSpec
    where: str  # the yml file, relative to the project


def find_declarations(project_dir: Path, model_paths: list[str]) -> list[SyncedSource]:
    """Every source with `meta.sync` in the yml files under the model paths (generated files aside)."""
    found = []
    for path, entries in _source_entries(project_dir, model_paths):
        if GENERATED_FOLDER not in path.parts:
            where = path.relative_to(project_dir).as_posix()
            found += [_declaration(entry, where) for entry in entries if _has_sync(entry)]
    return found


def declares_connector(project_dir: Path, model_paths: list[str], connector: str) -> bool:
    """Whether any source in the yml files says `meta: {connector: <connector>}`: read without dbt, so that
    `warehouse up` knows whether the project needs a MySQL server before (and without) parsing it."""
    return any(
        isinstance(entry.get("meta"), dict) and entry["meta"].get("connector") == connector
        for _, entries in _source_entries(project_dir, model_paths)
        for entry in entries
    )


GENERATED_FOLDER = "_sync"


def _source_entries(project_dir: Path, model_paths: list[str]) -> list[tuple[Path, list[dict[str, Any]]]]:
    """The `sources:` entries of every yml file under the model paths."""
    found = []
    for root in model_paths:
        for path in sorted((project_dir / root).rglob("*.yml")):
            try:
                document = yaml.safe_load(path.read_text()) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                where = path.relative_to(project_dir).as_posix() + (f":{mark.line + 1}" if mark else "")
                problem = f"not valid YAML: {getattr(exc, 'problem', None) or exc}".splitlines()[0]
                raise ConfigError(problem, where=where, hint="correct the YAML at that line") from None
            sources = document.get("sources") if isinstance(document, dict) else None
            found.append((path, [entry for entry in sources or [] if isinstance(entry, dict)]))
    return found


def _has_sync(entry: dict[str, Any]) -> bool:
    return isinstance(entry.get("meta"), dict) and "sync" in entry["meta"]


def _declaration(entry: dict[str, Any], where: str) -> SyncedSource:
    name = str(entry.get("name", ""))
    meta = entry["meta"]
    assert isinstance(meta, dict)
    try:
        spec = SyncSpec.model_validate(meta["sync"] or {})
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"source {name}: meta.sync.{key}: {error['msg']}", where=where) from None
    database = str(entry.get("database") or "")
    if not database:
        raise ConfigError(f"source {name}: a synced source names its `database`", where=where)
    schema = str(entry.get("schema") or database)
    return SyncedSource(name, database, schema, str(meta.get("connector", "postgres")), spec, where)
