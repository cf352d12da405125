"""A compiled job through Flink's planner, without running it: what `check` reports and what `run` requires
of every new or changed job before it touches anything that runs.

The job's settings are SET, its tables and stream views declared in a gateway session of their own, and
its statement set EXPLAINed. A rejection names the model file and line (Flink's line in the stream's view
is mapped back to the file).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from warehouse.compiler import CompiledJob, Stream, stream_view
from warehouse.errors import FlinkError
from warehouse.eventtime import FLOOR_SUFFIX
from warehouse.gateway import Session, StatementResult
from warehouse.identifiers import flink_string
from warehouse.project import Model

FLINK_POSITION = re.compile(r"line (\d+), column (\d+)")
VIEW = re.compile(r"CREATE TEMPORARY VIEW (`wh_\w+`)")
SessionFactory = Callable[[], Session]


class PlannerRejection(FlinkError):
    """Flink's planner refused one of the job's statements; `where` is the model file and line."""

    def __init__(
        self,
        model: Model,
        where: str,
        flink_message: str,
        hint: str = "fix the model; `warehouse compile` shows the Flink SQL",
    ) -> None:
        self.model = model
        self.flink_message = flink_message
        super().__init__(f"Flink's planner rejects model {model.name}: {flink_message}", where=where, hint=hint)


@dataclass(frozen=True)
class Explained:
    plan: str  # Flink's EXPLAIN of the statement set
    stream_types: dict[str, dict[str, str]]  # stream -> column -> Flink type (as DESCRIBE prints it)


def explain(open_session: SessionFactory, job: CompiledJob) -> Explained:
    """Flink's plan of the job (EXPLAIN of its statement set) and, for a one-model job, its streams' types;
    raises PlannerRejection naming the model (and file line) a statement belongs to."""
    views = {stream_view(m.model, s): (m.model, s) for m in job.members for s in m.streams}
    body = "\n".join(f"{insert};" for insert in job.inserts)
    settings = {"execution.runtime-mode": "streaming", **job.settings}
    first = (job.members[0].model, job.members[0].streams[0])
    with open_session() as session:
        for key, value in settings.items():
            session.execute(f"SET {flink_string(key)} = {flink_string(value)}")
        for statement in job.ddl:
            match = VIEW.match(statement)
            model, stream = views.get(match.group(1), (first[0], None)) if match else (first[0], None)
            _execute(session, statement, model, stream)
        explained = _execute(session, f"EXPLAIN STATEMENT SET BEGIN\n{body}\nEND", *first)
        types = {s.name: _column_types(session, job.model, s) for s in job.streams} if len(job.members) == 1 else {}
    plan = "\n".join(str(value) for row in explained.rows for value in row.fields)
    _require_one_late_judge(job, plan)
    _require_no_bounded_source(job, plan)
    return Explained(plan, types)


def execution_plan(plan: str) -> str:
    """The `Optimized Execution Plan` section of Flink's EXPLAIN."""
    return plan[plan.find("== Optimized Execution Plan ==") :]


def _require_no_bounded_source(job: CompiledJob, plan: str) -> None:
    """A continuous job must not contain a source that finishes (a `VALUES`, or a branch the planner proved
    empty): Flink 1.20 then takes a failed task for a finished one during a restart (FLINK-40482) and may
    resume without it, silently dropping the changes it reads. Refused here, before anything runs."""
    if "Values(" in execution_plan(plan):
        models = ", ".join(model.name for model in job.models)
        raise PlannerRejection(
            job.models[0],
            job.models[0].path,
            f"the plan of job {job.name} ({models}) has a bounded source (a VALUES, or a query proved empty)",
            hint="a continuous job reads change logs only: put constant rows in a source table, drop filters "
            "that are always false",
        )


def _require_one_late_judge(job: CompiledJob, plan: str) -> None:
    """The window and the late-rows sink must share one judgement of each change (eventtime.py); if Flink's
    optimizer copied it, the two could disagree about a change, so the job is refused rather than run."""
    execution = execution_plan(plan)
    for read in job.event_time:
        floor = f"LookupJoin(table=[{read.table.database}.{read.table.schema}.{read.table.name}{FLOOR_SUFFIX}]"
        if execution.count(floor) > 1:
            raise FlinkError(
                f"job {job.name}: Flink's plan judges the lateness of {read.table.name}'s changes twice",
                where=", ".join(model.path for model in job.models),
                hint="report it with the model; meanwhile set `late_rows: drop` on the watermark of "
                f"{read.table.name} (late rows are then counted, not kept)",
            )


def _column_types(session: Session, model: Model, stream: Stream) -> dict[str, str]:
    described = session.execute(f"DESCRIBE {stream_view(model, stream)}")
    return {str(row.fields[0]): str(row.fields[1]) for row in described.rows}


def _execute(session: Session, statement: str, model: Model, stream: Stream | None) -> StatementResult:
    try:
        return session.execute(statement)
    except PlannerRejection:
        raise
    except FlinkError as exc:
        message = exc.message.split(": ", 1)[-1] if "answered" in exc.message else exc.message
        where = _flink_line(exc.message, model, stream, statement)
        hint = reserved_word_hint(message)
        raise PlannerRejection(model, where, message, *([hint] if hint else [])) from None


ENCOUNTERED_WORD = re.compile(r'Encountered "`?([A-Za-z_][A-Za-z0-9_]*)`?" at line')
# Words whose place in a query is fixed: Flink stumbling on one means a misplaced clause, not a column name.
CLAUSE_WORDS = frozenset(
    (  # noqa: SIM905 - a list of words, read as one
        "SELECT FROM WHERE GROUP BY HAVING ORDER LIMIT JOIN LEFT RIGHT FULL INNER OUTER CROSS ON USING AS AND OR "
        "NOT UNION INTERSECT EXCEPT ALL DISTINCT INSERT INTO VALUES WITH CASE WHEN THEN ELSE END FOR SYSTEM_TIME OF"
    ).split()
)


def reserved_word_hint(flink_message: str) -> str | None:
    """The fix when Flink's parser stopped at a word it reserves (`model`, `value`, `timestamp`, ...) where the
    user meant a column: quote it with backticks. None for other errors."""
    found = ENCOUNTERED_WORD.search(flink_message)
    if found is None or found.group(1).upper() in CLAUSE_WORDS:
        return None
    word = found.group(1)
    return f"`{word}` is a reserved word in Flink SQL: write it in backticks (`{word}`) where it names a column"


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
