"""The embedded stack's supervisor: `warehouse up` starts it, `warehouse down` stops it first.

Every couple of seconds it checks each component's process (PostgreSQL, JobManager, TaskManager, SQL Gateway)
and starts again any that died, the way `up` starts it (PostgreSQL recovers its own data on start). Flink's
restart strategy then brings the jobs back from their latest checkpoint after a TaskManager or database
restart; a restarted JobManager knows no jobs, so the supervisor resumes them itself from their latest retained
checkpoint, as `warehouse up` would (lifecycle/recover.py). Each component restart is counted
(`run/restarts.json`, shown by `up`) and logged (`logs/supervisor.log`).

Why a process of our own rather than Flink HA or a service manager: the embedded stack is for one machine and
one user, HA needs ZooKeeper or Kubernetes, and a service manager cannot resume the jobs a JobManager forgot.
A remote cluster has its own HA and restart policies; the supervisor runs only for the embedded stack.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from warehouse.config import load_settings
from warehouse.embedded.processes import count_restart, wanted_path
from warehouse.errors import WarehouseError

CHECK_EVERY = 2.0
REMEMBER_EVERY = 30.0
HEAL_BACKOFF = (10.0, 600.0)  # a job that keeps failing is resumed at most this often: first, then at most


def say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}", flush=True)


class Supervisor:
    def __init__(self, project_dir: Path, target: str, profiles_dir: Path | None) -> None:
        from warehouse.context import Context  # the whole warehouse: imported by the child process only

        self.context = Context(project_dir, target=target, profiles_dir=profiles_dir, progress=say)
        self.home = self.context.settings.profile.home
        self.backoff = HEAL_BACKOFF[0]
        self.next_heal = 0.0
        self.next_remember = 0.0

    def run(self) -> None:
        say(f"supervising the stack of {self.context.project_dir}")
        while wanted_path(self.home).exists():
            self.check()
            time.sleep(CHECK_EVERY)
        say("the stack is no longer wanted (`warehouse down`): stopping")

    def check(self) -> None:
        try:
            restarted = self.context.stack().start_missing() if self._something_died() else []
            for component in restarted:
                count_restart(self.home, component)
                say(f"restarted {component}")
            if self.context.settings.profile.flink_is_embedded:
                self._jobs(urgent="jobmanager" in restarted)
        except WarehouseError as exc:
            say(f"could not heal the stack yet: {exc.one_line()}")

    def _something_died(self) -> bool:
        return any(not state.running for state in self.context.stack_states() if state.name != "supervisor")

    def _jobs(self, urgent: bool) -> None:
        now = time.monotonic()
        if urgent or now >= self.next_heal:
            healed = self.context.recovery().heal(wait=False)
            failing = [r for r in healed if r.action == "resumed"] and not urgent
            self.backoff = min(self.backoff * 2, HEAL_BACKOFF[1]) if failing else HEAL_BACKOFF[0]
            self.next_heal = now + self.backoff
        if now >= self.next_remember:
            self.context.recovery().remember_checkpoints()
            self.next_remember = now + REMEMBER_EVERY


def main() -> None:
    project_dir, target, profiles_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    settings = load_settings(Path(project_dir), target, Path(profiles_dir) if profiles_dir else None)
    if not wanted_path(settings.profile.home).exists():
        say("nothing to supervise: the stack is not up")
        return
    Supervisor(Path(project_dir), target, Path(profiles_dir) if profiles_dir else None).run()


if __name__ == "__main__":
    main()
