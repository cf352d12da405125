"""`warehouse init`: a new project that `warehouse up && warehouse run` runs as it is.

The files are under resources/scaffold: dbt_project.yml, a profile for the embedded stack, the layer folders
with one model per layer and its yml, the schema-name macro, one source (created by setup/app.sql, which
`warehouse up` runs on the embedded store) and a model unit test. `__PROJECT__` becomes the project's name.
"""

from __future__ import annotations

import re
from pathlib import Path

from warehouse.errors import WarehouseError

SCAFFOLD = Path(__file__).parent / "resources" / "scaffold"
PLACEHOLDER = "__PROJECT__"


def project_name(folder: Path) -> str:
    """A dbt project name from the folder's name: lower case letters, digits and underscores."""
    name = re.sub(r"[^a-z0-9_]+", "_", folder.resolve().name.lower()).strip("_") or "warehouse"
    return name if name[0].isalpha() else f"wh_{name}"


def init_project(folder: Path) -> list[Path]:
    """Write the scaffold into `folder` (created if missing); the files written, relative to it."""
    if (folder / "dbt_project.yml").exists():
        raise WarehouseError(
            f"{folder / 'dbt_project.yml'} exists: {folder} is a project already",
            hint="choose a new folder: `warehouse init my_warehouse`",
        )
    name = project_name(folder)
    written = []
    for template in sorted(path for path in SCAFFOLD.rglob("*") if path.is_file()):
        relative = template.relative_to(SCAFFOLD)
        target = folder / relative
        if target.exists():
            continue  # never overwrite a file the user has
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(template.read_text().replace(PLACEHOLDER, name))
        written.append(relative)
    return written
