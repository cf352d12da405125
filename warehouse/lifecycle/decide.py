"""The decision table: what `run` does with one model, from facts gathered beforehand. A pure function.

Order of preference: keep > resume (a savepoint, or the latest retained checkpoint of a failed or
vanished job) > upgrade (stop with a savepoint, start the new job from it) > rebuild (clear the table,
start clean). A rebuild is a last resort and is marked destructive; what cannot be done safely is
refused, and a refused plan changes nothing.

| facts                                                   | decision                      |
|---------------------------------------------------------|-------------------------------|
| no job recorded for the model                           | start                         |
| the job's state cannot be read (REST error)             | refuse (nothing changes)      |
| a source is declared narrower than its database table   | refuse (fix the declaration)  |
| `--full-refresh`                                        | rebuild (destructive)         |
| the table cannot be changed in place                    | refuse (needs --full-refresh) |
| the queries changed                                     | rebuild (destructive)         |
| running, unchanged                                      | keep                          |
| running, state-compatible change                        | upgrade from a savepoint      |
| not running, a savepoint or retained checkpoint exists  | resume from it (with the change, if any) |
| not running, nothing to resume from                     | rebuild (destructive)         |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

JobChange = Literal["none", "settings", "queries"]
TableKind = Literal["none", "additive", "incompatible"]
State = Literal["RUNNING", "STOPPED", "FAILED", "CANCELED", "FINISHED", "VANISHED", "NONE", "UNREACHABLE"]
Action = Literal["start", "keep", "resume", "upgrade", "rebuild", "refuse", "remove"]

NOT_RUNNING = {
    "STOPPED": "stopped with a savepoint",
    "FAILED": "failed",
    "CANCELED": "was cancelled",
    "FINISHED": "finished",
    "VANISHED": "is gone from the cluster (its JobManager restarted or forgot it)",
    "NONE": "never started",
}


@dataclass(frozen=True)
class Facts:
    """Everything the decision depends on; gathered by `plan` (compile, registry, Flink, the store)."""

    new: bool
    job_change: JobChange
    table_change: TableKind
    state: State
    restore_point: str | None = None  # the savepoint of a stopped job, or the latest retained checkpoint
    full_refresh: bool = False
    detail: str = ""  # why the state is what it is (REST error, Flink's root cause, table problems)
    source_problem: str = ""  # a source column declared narrower than the database has it


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: str
    restore_from: str | None = None
    destructive: bool = False
    hint: str = ""

    @property
    def state_compatible(self) -> bool:
        return self.action in ("keep", "resume", "upgrade")


def decide(facts: Facts) -> Decision:
    if facts.new:
        return Decision("start", "new model")
    if facts.state == "UNREACHABLE":
        return Decision(
            "refuse",
            f"cannot tell whether its job runs ({facts.detail})",
            hint="check the cluster with `warehouse doctor`, then run again; nothing was changed",
        )
    if facts.source_problem:
        return Decision(
            "refuse",
            facts.source_problem,
            hint="declare each source column with (at least) the type its database table has, in the sources yml",
        )
    if facts.full_refresh:
        return Decision("rebuild", "--full-refresh: table dropped and recreated, job started clean", destructive=True)
    if facts.table_change == "incompatible":
        return Decision(
            "refuse",
            f"the table cannot be changed in place: {facts.detail}",
            hint="run with --full-refresh to rebuild it and its dependants",
        )
    if facts.job_change == "queries":
        return Decision(
            "rebuild", "queries changed: the job restarts without state, changed tables cleared", destructive=True
        )
    if facts.state == "RUNNING":
        if facts.job_change == "none":
            return Decision("keep", "unchanged")
        return Decision("upgrade", "state-compatible change: stop with a savepoint, restart from it")
    return _not_running(facts)


def _not_running(facts: Facts) -> Decision:
    how = NOT_RUNNING.get(facts.state, facts.state.lower())
    if facts.restore_point is None:
        return Decision(
            "rebuild", f"job {how} and left nothing to resume from: table cleared and rebuilt", destructive=True
        )
    source = "its savepoint" if facts.state == "STOPPED" else "its latest retained checkpoint"
    change = "" if facts.job_change == "none" else " with the state-compatible change"
    return Decision("resume", f"job {how}: resumes from {source}{change}", restore_from=facts.restore_point)
