"""`warehouse check`: every model validated by Flink's planner (no job started) plus static lints; then
every job of several models (jobgroups.py) as it runs, when the models themselves are clean.

Lint codes are stable:
  WH001  a partial-update stream does not write the full primary key            (error)
  WH002  two streams write the same column                                      (error)
  WH003  a stream writes a column the schema yml does not declare               (error)
  WH004  a lookup join does not use the dimension's full primary key            (error)
  WH005  a lookup caches misses on a dimension that gains rows (it is a model)  (warning)
  WH100  the model does not compile (Jinja, ref, SQL syntax)                    (error)
  WH006  Flink keeps a stream's every row in a SinkUpsertMaterializer            (warning)
  WH007  a stream's column is wider than the table's: some values may not fit   (warning)
  WH008  a source column is declared narrower than its database column          (error)
  WH009  the models of one job disagree on a setting of the whole job            (error)
  WH200  Flink's planner rejects the model (unknown column, types, ...)         (error)
Every finding names the model file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp

from warehouse.compiler import LOOKUP_SUFFIX, CompiledJob, Stream
from warehouse.errors import WarehouseError
from warehouse.flinksql import parse_one
from warehouse.lifecycle.apply import Lifecycle
from warehouse.lifecycle.validate import PlannerRejection, SessionFactory, explain
from warehouse.project import Model
from warehouse.valuefit import narrowing

CODE = re.compile(r"\[(WH\d{3})\]\s*")
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


def check_models(lifecycle: Lifecycle, selector: str | None) -> list[Finding]:
    plans, findings = _compiled(lifecycle, lifecycle.project.select(selector))
    findings += [f for plan in plans for f in _lints(lifecycle, plan)]
    findings += [f for plan in plans for f in _source_findings(lifecycle, plan)]
    findings += _planned(lifecycle, plans)
    if not any(finding.severity == "error" for finding in findings):
        findings += _job_findings(lifecycle, plans)
    return findings


def _planned(lifecycle: Lifecycle, jobs: list[CompiledJob]) -> list[Finding]:
    """Flink's planner over each job, two at a time (each in a gateway session of its own), in the given order."""
    from concurrent.futures import ThreadPoolExecutor

    def planner(job: CompiledJob) -> list[Finding]:
        found = _planner(lifecycle.engine.gateway.open_session, job)
        verdict = "rejected" if any(f.severity == "error" for f in found) else "planned"
        lifecycle.progress(f"{job.name}: {verdict} by Flink ({', '.join(m.name for m in job.models)})")
        return found

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [finding for found in pool.map(planner, jobs) for finding in found]


def _job_findings(lifecycle: Lifecycle, plans: list[CompiledJob]) -> list[Finding]:
    """What only a whole job reveals: its models' settings disagree, or Flink's planner rejects the job."""
    uids = [plan.model.unique_id for plan in plans]
    try:
        jobs = lifecycle.jobs(uids, alone=plans)
    except WarehouseError as exc:
        first = lifecycle.project.models[uids[0]] if uids else None
        return [_from_error(first, exc)] if first else []
    return _planned(lifecycle, [job for job in jobs if len(job.members) > 1])


def _source_findings(lifecycle: Lifecycle, job: CompiledJob) -> list[Finding]:
    """WH008: Flink would read what does not fit a source column's declared type as NULL."""
    problems = lifecycle.catalog.source_mismatches(lifecycle.sources_of(job))
    fix = "declare the source column with (at least) the type its database table has, in the sources yml"
    return [Finding("WH008", "error", job.model.name, job.model.path, problem, fix) for problem in problems]


def _compiled(lifecycle: Lifecycle, uids: list[str]) -> tuple[list[CompiledJob], list[Finding]]:
    """All plans at once; when some model does not compile, one by one to find which."""
    try:
        return lifecycle.compile(uids), []
    except WarehouseError:
        pass
    plans, findings = [], []
    for uid in uids:
        try:
            plans += lifecycle.compile([uid])
        except WarehouseError as exc:
            findings.append(_from_error(lifecycle.project.models[uid], exc))
    return plans, findings


def _from_error(model: Model, exc: WarehouseError) -> Finding:
    match = CODE.search(exc.message)
    code = match.group(1) if match else "WH100"
    message = CODE.sub("", exc.message)
    return Finding(code, "error", model.name, exc.where or model.path, message, exc.hint or "")


def _lints(lifecycle: Lifecycle, plan: CompiledJob) -> list[Finding]:
    findings = []
    for stream in plan.streams:
        for join in parse_one(stream.sql).find_all(exp.Join):
            findings += _lookup_lints(lifecycle, plan.model, stream, join)
    return findings


def _lookup_lints(lifecycle: Lifecycle, model: Model, stream: Stream, join: exp.Join) -> list[Finding]:
    table = join.this if isinstance(join.this, exp.Table) else None
    if table is None or not table.name.endswith(LOOKUP_SUFFIX):
        return []
    dimension = lifecycle.compiler.find_table(table.catalog, table.db, table.name)
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
    if cache and cache.cache_missing and dimension.unique_id in lifecycle.project.models:
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


def _planner(open_session: SessionFactory, job: CompiledJob) -> list[Finding]:
    """Flink's planner over the job (nothing runs): a rejection, or (for one model) the warnings its plan reveals."""
    try:
        explained = explain(open_session, job)
    except PlannerRejection as rejected:
        model = rejected.model
        return [
            Finding(
                "WH200", "error", model.name, rejected.where or model.path, rejected.flink_message, rejected.hint or ""
            )
        ]
    if len(job.members) > 1:
        return []
    return _materializer_findings(job, explained.plan) + _narrowing_findings(job, explained.stream_types)


def _materializer_findings(plan: CompiledJob, explained: str) -> list[Finding]:
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


def _narrowing_findings(job: CompiledJob, stream_types: dict[str, dict[str, str]]) -> list[Finding]:
    """WH007: a stream column whose type is wider than its table column: the rows that do not fit are rejected."""
    declared = {c.name: c.data_type for c in job.model.table.columns}
    findings = []
    for stream in job.streams:
        for column, flink_type in stream_types.get(stream.name, {}).items():
            reason = narrowing(flink_type, declared[column]) if column in declared else None
            if reason:
                findings.append(
                    Finding(
                        "WH007",
                        "warning",
                        job.model.name,
                        f"{job.model.path}:{stream.line}",
                        f"stream '{stream.name}' column {column}: {reason}; rows whose value does not fit go to "
                        "_warehouse.rejected_rows",
                        "CAST it to the column's type in the model, or widen the column in the schema yml",
                    )
                )
    return findings
