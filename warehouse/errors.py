"""The one error type users see: what is wrong, where, and how to fix it."""

from __future__ import annotations


class WarehouseError(Exception):
    """An error the user can act on. `str()` is one line; `hint` says how to fix it."""

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.where = where
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text} (fix: {self.hint})" if self.hint else text


class ConfigError(WarehouseError):
    """A profile or project setting is wrong."""


class ServiceUnavailable(WarehouseError):
    """A service (PostgreSQL, Flink JobManager, SQL Gateway, an artifact host) cannot be reached."""


class ArtifactError(WarehouseError):
    """A pinned artifact could not be fetched or failed its checksum."""


class StackError(WarehouseError):
    """The embedded stack cannot start or stop."""


class FlinkError(WarehouseError):
    """Flink rejected a statement or a job failed."""


class NotFound(FlinkError):
    """Flink answered 404: it does not know the job (or session, or operation) asked for."""
