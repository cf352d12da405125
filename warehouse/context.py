"""The facade: one object per project that every CLI command and the Python API go through."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path

from warehouse.config import Settings, load_settings
from warehouse.doctor import Check, run_checks
from warehouse.embedded.stack import ComponentState, EmbeddedStack
from warehouse.engine import Engine
from warehouse.gateway import GatewayClient
from warehouse.jobmanager import JobManagerClient
from warehouse.smoke import run_smoke

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    print(f"· {message}", file=sys.stderr, flush=True)


class Context:
    def __init__(
        self,
        project_dir: Path | str = ".",
        *,
        target: str | None = None,
        profiles_dir: Path | None = None,
        progress: Progress = stderr_progress,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()
        self.target = target
        self.profiles_dir = profiles_dir
        self.progress = progress

    @cached_property
    def settings(self) -> Settings:
        return load_settings(self.project_dir, self.target, self.profiles_dir)

    @cached_property
    def gateway(self) -> GatewayClient:
        return GatewayClient(self.settings.profile.flink_endpoints().gateway_url)

    @cached_property
    def jobmanager(self) -> JobManagerClient:
        return JobManagerClient(self.settings.profile.flink_endpoints().rest_url)

    @cached_property
    def engine(self) -> Engine:
        profile = self.settings.profile
        savepoints = self.settings.uri(profile.savepoint_dir)
        return Engine(self.gateway, self.jobmanager, profile.store_connection(), savepoints)

    # ---- the stack ------------------------------------------------------------------------------
    def up(self) -> list[ComponentState]:
        return EmbeddedStack(self.settings, self.progress).up()

    def down(self) -> list[str]:
        return EmbeddedStack(self.settings, self.progress).down()

    def stack_states(self) -> list[ComponentState]:
        return EmbeddedStack(self.settings, self.progress).states()

    def doctor(self) -> list[Check]:
        return run_checks(self.settings)

    def smoke(self) -> bool:
        return run_smoke(self.engine, self.progress)
