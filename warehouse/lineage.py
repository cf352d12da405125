"""Column-level lineage: where a model column comes from, down to the OLTP source columns.

Each stream's SELECT is traced with sqlglot's column lineage (FlinkSQL dialect, a schema built from the
catalog's declared columns); the tables it reaches are mapped back to the catalog: a model read as a stream
(`ref()`) or as a dimension (`lookup()`) is traced in turn, a `source()` ends the chain.

    dws.dws_shop_daily.gmv  [model]  CAST(SUM(buy_fee) AS DECIMAL(18, 2))
    └── dwd.dwd_orders.buy_fee  [model]  o.buy_fee
        └── ods.ods_orders.buy_fee  [model]  buy_fee
            └── shop.public.orders.buy_fee  [source]
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.lineage import Node, lineage

from warehouse.errors import WarehouseError
from warehouse.flinksql import WINDOW_COLUMNS, WINDOW_FUNCTIONS, FlinkSQL, TableArgument, parse_one, table_references
from warehouse.types import flink_type

if TYPE_CHECKING:
    from warehouse.compiler import CompiledJob, Stream
    from warehouse.context import Context
    from warehouse.project import DbtProject, Model, Table

Kind = Literal["model", "source", "lookup"]
ROWS = "*"  # the column of a node that stands for a table's rows (what COUNT(*) counts)
PROC_TIME = "proc_time"
LOOKUP_SUFFIXES = ("__lookup_all", "__lookup")

__all__ = [
    "LineageError",
    "LineageNode",
    "column_lineage",
    "lineage_for",
    "model_lineage",
    "render_tree",
    "source_columns",
    "to_json",
    "upstream_columns",
]


class LineageError(WarehouseError):
    """The model or column asked for does not exist, or a model's SQL cannot be traced."""


@dataclass(frozen=True)
class LineageNode:
    """One column of one table; `children` are the columns it is computed from (none for a source)."""

    table: str
    column: str
    kind: Kind
    children: list[LineageNode] = field(default_factory=list)
    expression: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"

    def walk(self) -> Iterator[LineageNode]:
        """This node and every node below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


# ------------------------------------------------------------------------------------------------ public API


def lineage_for(context: Context, target: str) -> LineageNode:
    """The lineage of `MODEL.COLUMN` in the context's project (renders every model through dbt)."""
    model, column = _split_target(target)
    project = context.project
    _check_column(_model_named(project, model), column)
    plans = {plan.model.name: plan for plan in context.lifecycle.compile(project.select(None))}
    return column_lineage(project, plans, model, column)


def column_lineage(project: DbtProject, plans: Mapping[str, CompiledJob], model: str, column: str) -> LineageNode:
    """Trace one column of a model through every upstream model down to source columns."""
    found = _model_named(project, model)
    _check_column(found, column)
    return _Tracer(project, plans).trace(found, column, "model")


def model_lineage(project: DbtProject, plans: Mapping[str, CompiledJob]) -> dict[str, dict[str, LineageNode]]:
    """The lineage of every declared column of every planned model: {model unique_id: {column: node}}."""
    tracer = _Tracer(project, plans)
    return {plan.model.unique_id: _every_column(tracer, plan.model) for plan in plans.values()}


def upstream_columns(node: LineageNode) -> list[str]:
    """The columns one hop up, as `table.column`."""
    return _unique(child.name for child in node.children)


def source_columns(node: LineageNode) -> list[str]:
    """The source columns at the ends of the chain, as `database.schema.table.column`."""
    return _unique(found.name for found in node.walk() if found.kind == "source")


def render_tree(node: LineageNode) -> str:
    """An indented text tree, one line per node: `table.column  [kind]  expression`."""
    return "\n".join(_tree_lines(node, prefix="", connector=""))


def to_json(node: LineageNode) -> dict[str, Any]:
    return {
        "table": node.table,
        "column": node.column,
        "kind": node.kind,
        "expression": node.expression,
        "children": [to_json(child) for child in node.children],
    }


# ------------------------------------------------------------------------------------------------ lookups


def _split_target(target: str) -> tuple[str, str]:
    model, dot, column = target.rpartition(".")
    if not dot or not model or not column or "." in model:
        raise LineageError(f"'{target}' is not MODEL.COLUMN", hint="e.g. `warehouse lineage dws_shop_daily.gmv`")
    return model, column


def _model_named(project: DbtProject, name: str) -> Model:
    for model in project.models.values():
        if model.name == name:
            return model
    known = ", ".join(sorted(model.name for model in project.models.values()))
    raise LineageError(f"no model named '{name}'", hint=f"models: {known}")


def _check_column(model: Model, column: str) -> None:
    if column not in model.table.column_names():
        columns = ", ".join(model.table.column_names())
        message = f"model '{model.name}' has no column '{column}'"
        raise LineageError(message, where=model.path, hint=f"columns: {columns}")


def _every_column(tracer: _Tracer, model: Model) -> dict[str, LineageNode]:
    return {name: tracer.trace(model, name, "model") for name in model.table.column_names()}


def _source_name(table: Table) -> str:
    """A source table by its full name, `database.schema.table`: sources live in other databases."""
    return f"{table.database}.{table.qualified}"


def _unique(names: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _tree_lines(node: LineageNode, prefix: str, connector: str) -> Iterator[str]:
    expression = f"  {node.expression}" if node.expression else ""
    yield f"{prefix}{connector}{node.name}  [{node.kind}]{expression}"
    below = prefix + {"": "", "├── ": "│   ", "└── ": "    "}[connector]
    for index, child in enumerate(node.children):
        last = index == len(node.children) - 1
        yield from _tree_lines(child, below, "└── " if last else "├── ")


# ------------------------------------------------------------------------------------------------ tracing


class _Tracer:
    """Traces model columns; remembers each (model, column, kind) so shared upstreams are traced once."""

    def __init__(self, project: DbtProject, plans: Mapping[str, CompiledJob]) -> None:
        self.project = project
        self.plans = plans
        self.traced: dict[tuple[str, str, Kind], LineageNode] = {}
        tables = [*(model.table for model in project.models.values()), *project.sources.values()]
        self.tables = {(table.database, table.schema, table.name): table for table in tables}

    def trace(self, model: Model, column: str, kind: Kind) -> LineageNode:
        key = (model.unique_id, column, kind)
        if key not in self.traced:
            self.traced[key] = self._trace(model, column, kind)
        return self.traced[key]

    def _trace(self, model: Model, column: str, kind: Kind) -> LineageNode:
        plan = self.plans.get(model.name)
        streams = [stream for stream in plan.streams if column in stream.columns] if plan else []
        if not streams:
            expression = "PROCTIME()" if column == PROC_TIME else None
            return LineageNode(model.table.qualified, column, kind, [], expression)
        children = {child.name: child for stream in streams for child in self._stream_inputs(model, stream, column)}
        expression = _projection_sql(streams[0].sql, column)
        return LineageNode(model.table.qualified, column, kind, list(children.values()), expression)

    def _stream_inputs(self, model: Model, stream: Stream, column: str) -> list[LineageNode]:
        """The catalog columns one stream computes `column` from."""
        try:
            root = lineage(column, _traceable(stream.sql), schema=self._schema(stream.sql), dialect=FlinkSQL)
        except SqlglotError as error:
            message = f"cannot trace column '{column}' of stream '{stream.name}': {error}"
            raise LineageError(message, where=model.path) from None
        assert isinstance(root, Node)
        leaves = [self._table_column(model, leaf) for leaf in root.walk() if isinstance(leaf.expression, exp.Table)]
        return leaves or self._counted_rows(model, stream, column)

    def _counted_rows(self, model: Model, stream: Stream, column: str) -> list[LineageNode]:
        """A column computed from no column (COUNT(*), COUNT(1)) counts rows: those of the tables the stream
        reads (its lookups add no rows)."""
        expression = _projection_sql(stream.sql, column)
        if expression is None or not _counts_rows(expression):
            return []
        return [self._rows(*reference) for reference in _read(stream)]

    def _rows(self, catalog: str | None, database: str | None, name: str) -> LineageNode:
        """The rows of a table: a source's are a leaf, a model's come from the rows its streams read."""
        table = self._find_table(catalog, database, name)
        if table is None:
            return LineageNode(".".join(part for part in (catalog, database, name) if part), ROWS, "source")
        upstream = self.project.models.get(table.unique_id)
        if upstream is None:
            return LineageNode(_source_name(table), ROWS, "source")
        key: tuple[str, str, Kind] = (upstream.unique_id, ROWS, "model")
        if key not in self.traced:
            plan = self.plans.get(upstream.name)
            reads = [ref for stream in (plan.streams if plan else []) for ref in _read(stream)]
            children = {child.name: child for child in (self._rows(*ref) for ref in reads)}
            self.traced[key] = LineageNode(upstream.table.qualified, ROWS, "model", list(children.values()))
        return self.traced[key]

    def _table_column(self, reader: Model, leaf: Node) -> LineageNode:
        table_expression = leaf.expression
        assert isinstance(table_expression, exp.Table)
        column = leaf.name.rsplit(".", 1)[-1]
        table = self._find_table(table_expression.catalog, table_expression.db, table_expression.name)
        if table is None:
            return LineageNode(".".join(part.name for part in table_expression.parts), column, "source")
        upstream = self.project.models.get(table.unique_id)
        if upstream is None:
            return LineageNode(_source_name(table), column, "source")
        kind: Kind = "lookup" if _is_lookup(reader, table_expression.name, upstream.name) else "model"
        return self.trace(upstream, column, kind)

    def _find_table(self, catalog: str | None, database: str | None, name: str) -> Table | None:
        """The catalog table a Flink table name stands for (a lookup table's name has a suffix)."""
        return self.tables.get((catalog or "", database or "", _without_lookup_suffix(name)))

    def _schema(self, sql: str) -> dict[str, dict[str, dict[str, dict[str, str]]]]:
        """{catalog: {database: {table: {column: Flink type}}}} of the tables the SQL reads."""
        schema: dict[str, dict[str, dict[str, dict[str, str]]]] = {}
        for reference in table_references(sql):
            table = self._find_table(reference.catalog, reference.database, reference.name)
            if table is None or reference.catalog is None or reference.database is None:
                continue
            columns = {column.name: flink_type(column.data_type) for column in table.columns}
            if not reference.temporal:
                columns.setdefault(PROC_TIME, "TIMESTAMP_LTZ(3)")
            schema.setdefault(reference.catalog, {}).setdefault(reference.database, {})[reference.name] = columns
        return schema


def _without_lookup_suffix(name: str) -> str:
    for suffix in LOOKUP_SUFFIXES:
        name = name.removesuffix(suffix)
    return name


def _is_lookup(reader: Model, read_name: str, upstream: str) -> bool:
    """A lookup() table: `__lookup` in its name, or `cache='all'` (the compiler joins the binlog instead)."""
    cache = reader.lookups.get(upstream)
    return read_name != _without_lookup_suffix(read_name) or (cache is not None and cache.mode == "all")


def _read(stream: Stream) -> list[tuple[str | None, str | None, str]]:
    """The tables a stream reads rows from (not the ones it looks up)."""
    return [(ref.catalog, ref.database, ref.name) for ref in table_references(stream.sql) if not ref.temporal]


def _counts_rows(expression: str) -> bool:
    """An aggregate over no column: COUNT(*) or COUNT(<constant>)."""
    parsed = parse_one(f"SELECT {expression}")
    counts = list(parsed.find_all(exp.Count))
    return bool(counts) and not any(count.find(exp.Column) for count in counts)


def _projection_sql(sql: str, column: str) -> str | None:
    """The expression that computes `column` in the stream's SELECT, as written (first branch of a UNION)."""
    query: exp.Expr = parse_one(sql)
    while isinstance(query, exp.SetOperation):
        query = query.left
    if not isinstance(query, exp.Select):
        return None
    for projection in query.expressions:
        if projection.alias_or_name == column:
            return str(projection.unalias().sql(dialect=FlinkSQL))
    return None


# ------------------------------------------------------------------------------------------------ window TVFs


def _traceable(sql: str) -> exp.Expr:
    """The stream's query with each window TVF as a subquery: its input's columns, the windows from the time column."""
    return parse_one(sql).transform(_window_as_subquery)


def _window_as_subquery(node: exp.Expr) -> exp.Expr:
    if not isinstance(node, exp.TableFromRows) or node.this.name.upper() not in WINDOW_FUNCTIONS:
        return node
    table_argument = node.find(TableArgument)
    descriptor = next((call for call in node.find_all(exp.Anonymous) if call.name.upper() == "DESCRIPTOR"), None)
    if table_argument is None or descriptor is None or not descriptor.expressions:
        return node
    time_column = descriptor.expressions[0]
    windows = [exp.alias_(time_column.copy(), name) for name in WINDOW_COLUMNS]
    select = exp.select(exp.Star(), *windows).from_(table_argument.this.copy())
    return select.subquery(node.alias or table_argument.this.name)
