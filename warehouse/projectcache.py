"""The warehouse's view of a dbt project (models, sources, compiled SQL), kept between commands.

Parsing through dbt costs seconds (importing dbt alone is about three), while most commands (`status`,
`explore`, `lineage`, `catalog`, `sql`) only need what the last parse produced. The view is cached under
`target/warehouse/` with a fingerprint of everything dbt read: the files of the project's dbt folders, the
target's store address, the warehouse's version. Any change to them, or a project that reads environment
variables (`env_var()`, which a fingerprint of files cannot see), means a fresh parse.
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from warehouse.project import Model, Table

CACHE_FILE = Path("target") / "warehouse" / "project.pickle"
FORMAT = 1  # bump when the cached classes change shape
DBT_FOLDERS = ("model-paths", "macro-paths", "seed-paths", "test-paths", "snapshot-paths", "analysis-paths")
DEFAULT_FOLDERS = {
    "model-paths": ["models"],
    "macro-paths": ["macros"],
    "seed-paths": ["seeds"],
    "test-paths": ["tests"],
    "snapshot-paths": ["snapshots"],
    "analysis-paths": ["analyses"],
}
TOP_FILES = ("dbt_project.yml", "packages.yml", "dependencies.yml", "selectors.yml")


@dataclass(frozen=True)
class ProjectView:
    """What commands read of a parsed project."""

    models: dict[str, Model]
    sources: dict[str, Table]
    dbt_names: dict[str, str]  # model unique_id -> the name dbt selects it by
    compiled: dict[str, str]  # model unique_id -> compiled SQL


def dbt_inputs(project_dir: Path, dbt_project: dict[str, object]) -> list[Path]:
    """Every file dbt reads from the project folder (its dbt folders, installed packages, top-level yml)."""
    folders: list[str] = ["dbt_packages"]
    for key in DBT_FOLDERS:
        configured = dbt_project.get(key)
        folders += [str(f) for f in configured] if isinstance(configured, list) else DEFAULT_FOLDERS[key]
    files = [project_dir / name for name in TOP_FILES if (project_dir / name).is_file()]
    for folder in sorted(set(folders)):
        root = project_dir / folder
        files += sorted(path for path in root.rglob("*") if path.is_file() and "__pycache__" not in path.parts)
    return files


def code_files() -> list[Path]:
    """The warehouse's own code and dbt macros: a new version of them may read the same project differently."""
    package = Path(__file__).parent
    return sorted(path for path in package.rglob("*") if path.suffix in (".py", ".sql") and path.is_file())


def fingerprint(project_dir: Path, files: list[Path], context: str) -> str | None:
    """A digest of the project's files, the warehouse's code and `context` (target, store address); None if
    the project reads environment variables, whose values no file shows."""
    digest = hashlib.sha256(f"{FORMAT}\0{context}".encode())
    for path in code_files():
        digest.update(path.read_bytes())
    for path in files:
        content = path.read_bytes()
        if b"env_var(" in content:
            return None
        digest.update(f"\0{path.relative_to(project_dir).as_posix()}\0".encode())
        digest.update(content)
    return digest.hexdigest()


def load(project_dir: Path, key: str | None) -> ProjectView | None:
    """The cached view if it was saved under `key`; None otherwise (or if unreadable: it is parsed again)."""
    path = project_dir / CACHE_FILE
    if key is None or not path.is_file():
        return None
    try:
        saved_key, view = pickle.loads(path.read_bytes())
    except Exception:  # a file of another version of the warehouse: parse again
        return None
    return view if saved_key == key and isinstance(view, ProjectView) else None


def save(project_dir: Path, key: str | None, view: ProjectView) -> None:
    if key is None:
        return
    path = project_dir / CACHE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(pickle.dumps((key, view)))
    temporary.replace(path)
