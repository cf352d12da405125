"""The docs site: dbt's own (`dbt docs generate`), with each column's lineage and each model's Flink job.

`generate_docs` renders every model to its job script (`target/warehouse/<model>.sql`), runs dbt's
`docs generate` (with an empty catalog when the store is down or the project reads several databases,
which dbt-postgres cannot catalog), then adds to `target/manifest.json`
a "Lineage:" line under every model column and the job script's path under every model's description.
`serve_docs` serves `target/` on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
from collections.abc import Mapping
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warehouse.embedded.processes import port_open
from warehouse.errors import WarehouseError
from warehouse.lineage import LineageNode, model_lineage, source_columns, upstream_columns

if TYPE_CHECKING:
    from warehouse.context import Context

__all__ = ["annotate_manifest", "column_lineage_line", "generate_docs", "serve_docs"]


def generate_docs(context: Context) -> Path:
    """Build the docs site under `target/`; returns that folder."""
    compiled = context.compile()
    target = context.project_dir / "target"
    context.project.generate_docs(with_catalog=_store_catalog_available(context))
    alone = context.lifecycle.compile(context.project.select(None))
    lineage = model_lineage(context.project, {job.model.name: job for job in alone})
    scripts = {
        model.unique_id: str(path.relative_to(context.project_dir)) for job, path in compiled for model in job.models
    }
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest_path.write_text(json.dumps(annotate_manifest(manifest, lineage, scripts)))
    return target


def annotate_manifest(
    manifest: Mapping[str, Any],
    lineage: Mapping[str, Mapping[str, LineageNode]],
    scripts: Mapping[str, str],
) -> dict[str, Any]:
    """A copy of a dbt manifest with lineage under each column and the job script under each model.

    `lineage` is {model unique_id: {column: node}}, `scripts` {model unique_id: path of the job script}.
    """
    annotated = copy.deepcopy(dict(manifest))
    for unique_id, node in annotated.get("nodes", {}).items():
        if unique_id in scripts:
            node["description"] = _append(node.get("description"), f"Flink job: `{scripts[unique_id]}`")
        for name, column in node.get("columns", {}).items():
            traced = lineage.get(unique_id, {}).get(name)
            if traced is not None:
                column["description"] = _append(column.get("description"), column_lineage_line(traced))
    return annotated


def column_lineage_line(node: LineageNode) -> str:
    """`Lineage: <the columns one hop up>; sources: <the source columns at the end of the chain>`."""
    upstream = upstream_columns(node)
    if not upstream:
        computed = f"computed as `{node.expression}`" if node.expression else "not written by any stream"
        return f"Lineage: {computed}, no upstream column"
    line = "Lineage: " + ", ".join(upstream)
    sources = source_columns(node)
    if sources and sources != upstream:
        line += "; sources: " + ", ".join(sources)
    return line


def serve_docs(context: Context, port: int) -> None:
    """Serve `target/` (dbt's index.html, manifest.json, catalog.json) on 127.0.0.1 until interrupted."""
    target = context.project_dir / "target"
    if not (target / "index.html").exists():
        raise WarehouseError(f"no docs site in {target}", hint="generate it first: `warehouse docs generate`")
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(target))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:
        message = f"cannot serve on 127.0.0.1:{port}: {error.strerror}"
        raise WarehouseError(message, hint="pick another --port") from None
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


def _append(description: str | None, line: str) -> str:
    return f"{description}\n\n{line}" if description else line


def _store_catalog_available(context: Context) -> bool:
    """Whether dbt can build catalog.json from the store: it must be up, and dbt-postgres reads one database only."""
    store = context.store
    databases = {table.database for table in context.project.sources.values()}
    databases |= {model.table.database for model in context.project.models.values()}
    return databases <= {store.database} and port_open(store.host, store.port)
