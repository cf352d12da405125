"""Jobs across restarts of the stack, from the job registry alone (no project parsing: fast, and usable by
`warehouse up`, `down` and the supervisor).

- `park`: every running job stopped with a savepoint and marked `parked` (`warehouse down`): its slots stay,
  so nothing is re-read.
- `heal`: every job that should run but does not (parked, failed, or gone with a restarted JobManager) is
  resumed as it was from its savepoint or latest retained checkpoint (`warehouse up`, the supervisor). A job
  with nothing to resume from is left for `warehouse run` (which rebuilds it), and said so; a job stopped on
  purpose (`warehouse stop`) stays stopped.
- `remember_checkpoints`: the latest checkpoint of every running job written to the registry, for a job
  whose JobManager forgets it and whose checkpoint folder cannot be searched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from warehouse.errors import FlinkError, ServiceUnavailable, WarehouseError
from warehouse.lifecycle.engine import Engine
from warehouse.lifecycle.observe import Observation, RetainedCheckpoints, observe
from warehouse.lifecycle.registry import JobRecord, Registry
from warehouse.store import exclusive

Progress = Callable[[str], None]
PARKED = "parked"
LIFECYCLE_LOCK = "warehouse lifecycle"  # held while jobs are started, stopped or resumed
HEALABLE = ("STOPPED", "FAILED", "VANISHED")  # parked, failed, lost with its JobManager (not cancelled by hand)


@dataclass(frozen=True)
class Recovered:
    job: str
    action: str  # parked | resumed | left
    job_id: str | None = None
    detail: str = ""


class Recovery:
    def __init__(
        self, registry: Registry, engine: Engine, checkpoints: RetainedCheckpoints, progress: Progress
    ) -> None:
        self.registry = registry
        self.engine = engine
        self.checkpoints = checkpoints
        self.progress = progress

    def observe(self, record: JobRecord) -> Observation:
        return observe(record, self.engine.jobmanager, self.checkpoints)

    def park(self) -> list[Recovered]:
        """Stop every running job with a savepoint, to be resumed by `heal`."""
        with exclusive(self.registry.store, LIFECYCLE_LOCK):
            return self._park()

    def _park(self) -> list[Recovered]:
        parked = []
        for record in self.registry.all().values():
            if record.status != "running" or self.observe(record).state != "RUNNING":
                continue
            assert record.job_id
            self.progress(f"{record.job}: stopping job {record.job_id} with a savepoint")
            try:
                record.savepoint = self.engine.stop(record.job_id)
            except (FlinkError, ServiceUnavailable) as exc:
                self.progress(f"{record.job}: no savepoint ({exc.message}); its latest checkpoint will be used")
                continue
            record.status = PARKED
            self.registry.save(record)
            parked.append(Recovered(record.job, "parked", record.job_id, record.savepoint))
        return parked

    def heal(self, wait: bool = True) -> list[Recovered]:
        """Resume every job that should run and does not, from where it stopped (one healer at a time: with
        `wait=False`, nothing is done while `run`, `up` or another healer holds the lifecycle lock)."""
        with exclusive(self.registry.store, LIFECYCLE_LOCK, wait) as held:
            return self._heal() if held else []

    def _heal(self) -> list[Recovered]:
        found = []
        for record in self.registry.all().values():
            if record.status == "stopped":
                continue  # stopped on purpose with `warehouse stop`: `warehouse resume` brings it back
            observation = self.observe(record)
            if observation.state in HEALABLE:
                found.append(self._resume(record, observation))
        return found

    def _resume(self, record: JobRecord, observation: Observation) -> Recovered:
        if observation.restore_point is None:
            detail = "nothing to resume from: `warehouse run` rebuilds it"
            self.progress(f"{record.job}: job {observation.state.lower()}, {detail}")
            return Recovered(record.job, "left", record.job_id, detail)
        try:
            job_id = self.engine.submit(record.job_spec(), observation.restore_point)
        except WarehouseError as exc:
            self.progress(f"{record.job}: could not resume from {observation.restore_point}: {exc.message}")
            return Recovered(record.job, "left", record.job_id, exc.message)
        record.job_id, record.status, record.savepoint, record.checkpoint = job_id, "running", None, None
        self.registry.save(record)
        self.progress(f"{record.job}: resumed job {job_id} from {observation.restore_point}")
        return Recovered(record.job, "resumed", job_id, observation.restore_point)

    def remember_checkpoints(self) -> None:
        for record in self.registry.all().values():
            if record.status != "running" or not record.job_id:
                continue
            with contextlib.suppress(FlinkError, ServiceUnavailable):
                latest = self.engine.jobmanager.latest_checkpoint(record.job_id)
                if latest and latest != record.checkpoint:
                    self.registry.note_checkpoint(record.job, record.job_id, latest)
