"""`warehouse sync --follow`: schema evolution while the mirrors run, with no `run` by hand.

Every few seconds each synced source's catalog is read again (sync/mirror.py). A source whose mirrors changed
(a column added or widened, a table added or gone) has its mirrors deployed at once: a changed query, so the new
version of the source's job is built beside the live one and swapped in when it has caught up (blue/green,
lifecycle/bluegreen.py); the served mirrors are never emptied. A source whose change its policy stops, or whose
deploy fails, is reported and skipped this round; the others are followed, and its live mirrors keep running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from warehouse.errors import WarehouseError

if TYPE_CHECKING:
    from warehouse.context import Context
    from warehouse.lifecycle.apply import Action
    from warehouse.sync.mirror import SyncReport


@dataclass(frozen=True)
class Round:
    reports: list[SyncReport]  # the sources synced this round
    actions: list[Action]  # what deploying the changed ones did
    problems: list[str]  # one line per source skipped this round


def to_deploy(reports: list[SyncReport]) -> list[str]:
    """The mirrors to deploy: every mirror of each source whose sync changed something (they run as one job)."""
    return sorted({model for report in reports if report.changes for model in report.models})


def follow(
    context: Context, every: float, rounds: int | None = None, sleep: Callable[[float], None] = time.sleep
) -> None:
    """Follow the sources until interrupted (or for `rounds` rounds), one round every `every` seconds."""
    names = [source.name for source in context.synced_sources()]
    if not names:
        context.progress("no source declares `sync:`: nothing to follow (see README 'Whole-database sync')")
        return
    context.progress(f"following {', '.join(names)} every {every:g}s (Ctrl-C stops; the mirrors keep running)")
    done = 0
    while rounds is None or done < rounds:
        report_round(context, follow_once(context))
        done += 1
        if rounds is None or done < rounds:
            sleep(every)


def follow_once(context: Context) -> Round:
    """Sync each source on its own (one that stops does not hold the others back), then deploy the changed ones."""
    reports, problems = [], []
    for source in context.synced_sources():
        try:
            reports += context.sync([source.name])
        except WarehouseError as exc:
            problems.append(f"{source.name}: {exc.one_line()}")
    models = to_deploy(reports)
    if not models:
        return Round(reports, [], problems)
    try:
        return Round(reports, context.run(" ".join(models), sync_first=False), problems)
    except WarehouseError as exc:
        problems.append(f"deploying {', '.join(models)}: {exc.one_line()}; the live mirrors keep running")
        return Round(reports, [], problems)


def report_round(context: Context, round_: Round) -> None:
    for report in round_.reports:
        for change in report.changes:
            context.progress(f"sync {report.source}: {change}")
    for action in round_.actions:
        if action.action != "unchanged":
            context.progress(f"{action.model}: {action.action} {action.detail}".rstrip())
    for problem in round_.problems:
        context.progress(f"skipped this round: {problem}")
