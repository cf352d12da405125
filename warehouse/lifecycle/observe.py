"""What the cluster says about a recorded job: its state, and what it could be resumed from.

Checkpoints are retained when a job fails or is cancelled (`RETAIN_ON_CANCELLATION`), so a job that
failed, was cancelled or vanished with its JobManager can resume from its latest checkpoint. Flink's
REST API names it while the JobManager remembers the job; after a JobManager restart the checkpoint
folder is searched (`state_dir/<job id>/chk-<n>`, for a local state_dir).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from warehouse.errors import FlinkError, NotFound, ServiceUnavailable
from warehouse.http import root_cause
from warehouse.jobmanager import RUNNING_STATES, JobManagerClient
from warehouse.lifecycle.decide import State
from warehouse.lifecycle.registry import JobRecord

CHECKPOINT_FOLDER = re.compile(r"^chk-(\d+)$")
ENDING = {"CANCELLING": "CANCELED"}  # on its way to an end state: judged by where it goes


@dataclass(frozen=True)
class Observation:
    state: State
    restore_point: str | None = None
    detail: str = ""  # Flink's root cause of a failure, or why the state could not be read


class RetainedCheckpoints:
    """Completed checkpoints left in a local checkpoint folder (`file://` state_dir); other schemes: none."""

    def __init__(self, state_uri: str) -> None:
        parsed = urlparse(state_uri)
        self.root = Path(unquote(parsed.path)) if parsed.scheme == "file" else None

    def latest(self, job_id: str) -> str | None:
        if self.root is None or not (self.root / job_id).is_dir():
            return None
        complete = [
            (int(match.group(1)), folder)
            for folder in (self.root / job_id).iterdir()
            if (match := CHECKPOINT_FOLDER.match(folder.name)) and (folder / "_metadata").is_file()
        ]
        return max(complete)[1].as_uri() if complete else None


def observe(record: JobRecord | None, jobmanager: JobManagerClient, checkpoints: RetainedCheckpoints) -> Observation:
    """Never raises for an unreachable cluster: that is the state UNREACHABLE, which `decide` refuses."""
    if record is None or not record.job_id:
        return Observation("NONE")
    if record.status in ("stopped", "parked"):  # parked: stopped by `warehouse down`, resumed by `up`
        return Observation("STOPPED", record.savepoint)
    try:
        state = jobmanager.state(record.job_id)
    except NotFound:  # the folder's newest checkpoint first: the recorded one may have been retired since
        return Observation("VANISHED", checkpoints.latest(record.job_id) or record.checkpoint)
    except (FlinkError, ServiceUnavailable) as exc:
        return Observation("UNREACHABLE", detail=exc.one_line())
    if state in RUNNING_STATES or state == "FAILING":  # FAILING: Flink is deciding whether to restart it
        return Observation("RUNNING")
    return _ended(record.job_id, ENDING.get(state, state), jobmanager, checkpoints)


def _ended(job_id: str, state: str, jobmanager: JobManagerClient, checkpoints: RetainedCheckpoints) -> Observation:
    try:
        restore = jobmanager.latest_checkpoint(job_id) or checkpoints.latest(job_id)
        cause = root_cause(jobmanager.exceptions(job_id)) if state == "FAILED" else ""
    except (FlinkError, ServiceUnavailable) as exc:
        return Observation("UNREACHABLE", detail=exc.one_line())
    known: State = state if state in ("FAILED", "CANCELED", "FINISHED") else "FAILED"  # type: ignore[assignment]
    return Observation(known, restore, cause)
