"""`warehouse check`: every model validated by Flink's planner (no job started) plus static lints.

Lint codes are stable:
  WH001  a partial-update stream does not write the full primary key            (error)
  WH002  two streams write the same column                                      (error)
  WH003  a stream writes a column the schema yml does not declare               (error)
  WH004  a lookup join does not use the dimension's full primary key            (error)
  WH005  a lookup caches misses on a dimension that gains rows (it is a model)  (warning)
  WH100  the model does not compile (Jinja, ref, SQL syntax)                    (error)
  WH006  Flink keeps a stream's every row in a SinkUpsertMaterializer            (warning)
  WH200  Flink's planner rejects the model (unknown column, types, ...)         (error)
Every finding names the model file and line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from warehouse.compiler import LOOKUP_SUFFIX, JobPlan, Stream
from warehouse.errors import FlinkError, WarehouseError
from warehouse.flinksql import parse_one
from warehouse.gateway import Session, StatementResult
from warehouse.identifiers import flink_string
from warehouse.project import Model
from warehouse.runner import Runner

CODE = re.compile(r"\[(WH\d{3})\]\s*")
FLINK_POSITION = re.compile(r"line (\d+), column (\d+)")
MATERIALIZED_SINK = re.compile(r"Sink\(table=\[[^\]]*\.(\w+)\].*upsertMaterialize=\[true\]")


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # error | warning
    model: str
    where: str
    message: str
    hint: str = ""

    def one_line(self) -> str:
        fix = f" (fix: {self.hint})" if self.hint else ""
        return f"{self.where}: {self.severity} {self.code}: {self.message}{fix}"


def check_models(runner: Runner, selector: str | None) -> list[Finding]:
    plans, findings = _compiled(runner, runner.project.select(selector))
    findings += [f for plan in plans for f in _lints(runner, plan)]
    for plan in plans:
        findings += _planner(runner.engine.gateway.open_session, plan)
    return findings


def _compiled(runner: Runner, uids: list[str]) -> tuple[list[JobPlan], list[Finding]]:
    """All plans at once; when some model does not compile, one by one to find which."""
    try:
        return runner.plans(uids), []
    except WarehouseError:
        pass
    plans, findings = [], []
    for uid in uids:
        try:
            plans += runner.plans([uid])
        except WarehouseError as exc:
            findings.append(_from_error(runner.project.models[uid], exc))
    return plans, findings


def _from_error(model: Model, exc: WarehouseError) -> Finding:
    match = CODE.search(exc.message)
    code = match.group(1) if match else "WH100"
    message = CODE.sub("", exc.message)
    return Finding(code, "error", model.name, exc.where or model.path, message, exc.hint or "")


def _lints(runner: Runner, plan: JobPlan) -> list[Finding]:
    findings = []
    for stream in plan.streams:
        for join in parse_one(stream.sql).find_all(exp.Join):
            findings += _lookup_lints(runner, plan.model, stream, join)
    return findings


def _lookup_lints(runner: Runner, model: Model, stream: Stream, join: exp.Join) -> list[Finding]:
    table = join.this if isinstance(join.this, exp.Table) else None
    if table is None or not table.name.endswith(LOOKUP_SUFFIX):
        return []
    dimension = runner.compiler.find_table(table.catalog, table.db, table.name)
    if dimension is None:
        return []
    where = f"{model.path}:{_line_containing(model, 'lookup(' + repr(dimension.name), stream.line)}"
    alias = table.alias_or_name
    used = {c.name for eq in join.find_all(exp.EQ) for c in eq.find_all(exp.Column) if c.table == alias}
    findings = []
    missing = [key for key in dimension.primary_key if key not in used]
    if missing:
        findings.append(
            Finding(
                "WH004",
                "error",
                model.name,
                where,
                f"lookup of {dimension.name} does not match its primary key column(s) {missing}",
                "join on the dimension's full primary key (a point lookup)",
            )
        )
    cache = model.lookups.get(dimension.name)
    if cache and cache.cache_missing and dimension.unique_id in runner.project.models:
        findings.append(
            Finding(
                "WH005",
                "warning",
                model.name,
                where,
                f"lookup of {dimension.name} caches misses, but {dimension.name} gains rows",
                "set cache_missing=false, or a short ttl",
            )
        )
    return findings


def _line_containing(model: Model, text: str, default: int) -> int:
    lines = model.raw_code.splitlines()
    return next((number for number, line in enumerate(lines, start=1) if text in line), default)


def _planner(session_factory: Callable[[], Session], plan: JobPlan) -> list[Finding]:
    """Declare the job's tables and views and EXPLAIN its statement set: Flink validates, nothing runs."""
    model = plan.model
    views = {s.name: s for s in plan.streams}
    body = "\n".join(f"{insert};" for insert in plan.inserts)
    settings = {"execution.runtime-mode": "streaming", **plan.settings}
    try:
        with session_factory() as session:
            for key, value in settings.items():
                session.execute(f"SET {flink_string(key)} = {flink_string(value)}")
            for statement in plan.ddl:
                _execute(session, statement, model, _stream_of_view(statement, views))
            explained = _execute(session, f"EXPLAIN STATEMENT SET BEGIN\n{body}\nEND", model, plan.streams[0])
    except _PlannerFinding as finding:
        return [finding.finding]
    return _materializer_findings(plan, _plan_text(explained))


def _plan_text(result: StatementResult) -> str:
    return "\n".join(str(value) for row in result.rows for value in row.fields)


def _materializer_findings(plan: JobPlan, explained: str) -> list[Finding]:
    """WH006: a sink whose key differs from its stream's upsert key makes Flink keep every row in state."""
    sinks = {match.group(1) for match in MATERIALIZED_SINK.finditer(explained)}
    model, table = plan.model, plan.model.table.name
    key = ", ".join(model.table.primary_key)
    streams = [s for s in plan.streams if f"{table}__{s.name}" in sinks or f"{table}__sink" in sinks]
    return [
        Finding(
            "WH006",
            "warning",
            model.name,
            f"{model.path}:{stream.line}",
            f"stream '{stream.name}' is not keyed by {key}, so Flink keeps each of its rows "
            "in a SinkUpsertMaterializer (state grows with the input)",
            "if every row of the stream has its own primary key value, set upsert_materialize='none'",
        )
        for stream in streams
    ]


class _PlannerFinding(Exception):
    def __init__(self, finding: Finding) -> None:
        self.finding = finding


def _execute(session: Session, statement: str, model: Model, stream: Stream | None) -> StatementResult:
    try:
        return session.execute(statement)
    except FlinkError as exc:
        where = _flink_line(exc.message, model, stream, statement)
        message = exc.message.split(": ", 1)[-1] if "answered" in exc.message else exc.message
        raise _PlannerFinding(
            Finding(
                "WH200", "error", model.name, where, message, "fix the model; `warehouse compile` shows the Flink SQL"
            )
        ) from None


def _flink_line(message: str, model: Model, stream: Stream | None, statement: str) -> str:
    """Map Flink's `line L, column C` (in the view statement) to the model file."""
    position = FLINK_POSITION.search(message)
    if stream is None or position is None or not statement.startswith("CREATE TEMPORARY VIEW"):
        return f"{model.path}:{stream.line}" if stream else model.path
    line_in_stream = int(position.group(1)) - 1  # the view's first line is `CREATE ... AS`
    return f"{model.path}:{_raw_line(model, stream, line_in_stream)}"


def _raw_line(model: Model, stream: Stream, line_in_stream: int) -> int:
    """Compiled lines may shift against the file (Jinja); find the same text in the raw model."""
    compiled = stream.sql.splitlines()
    guess = stream.line + line_in_stream - 1
    if not 0 < line_in_stream <= len(compiled):
        return guess
    text = compiled[line_in_stream - 1].strip()
    raw = model.raw_code.splitlines()
    matches = [number for number, line in enumerate(raw, start=1) if line.strip() == text and text]
    return min(matches, key=lambda number: abs(number - guess)) if matches else guess


def _stream_of_view(statement: str, views: dict[str, Stream]) -> Stream | None:
    match = re.match(r"CREATE TEMPORARY VIEW `wh_stream_(\w+)`", statement)
    return views.get(match.group(1)) if match else None
