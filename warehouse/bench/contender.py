"""What the benchmark needs from a contender: start and stop it, where its layers are, what to charge to it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

from warehouse.bench.correctness import Relation
from warehouse.bench.freshness import Layer

Progress = Callable[[str], None]


class Contender(ABC):
    name: str
    title: str

    @abstractmethod
    def start(self, say: Progress) -> None:
        """Build the contender's tables over the shop's current OLTP rows and keep them up to date from now on."""

    @abstractmethod
    def layers(self) -> list[Layer]:
        """Its layers, upstream first, each with the query that finds the highest canary it shows."""

    @abstractmethod
    def relations(self) -> dict[str, Relation]:
        """Where it keeps each oracle table it builds (e.g. "dwd.dwd_orders")."""

    @abstractmethod
    def stop(self, say: Progress) -> None:
        """Stop everything it runs and remove what it created outside the shop's OLTP tables."""

    def await_ready(self, products: int, say: Progress) -> None:
        """Wait until it can take orders (e.g. the product dimension is loaded); by default it can at once."""
        say(f"{self.name}: ready ({products:,} products loaded)")

    def flink_jobs(self) -> dict[str, str]:
        """Its Flink jobs, model name -> job id."""
        return {}

    def helper_pids(self) -> list[int]:
        """Processes besides the stack's that do its work (their CPU time is charged to it)."""
        return []

    def problem(self) -> str | None:
        """Why it has stopped working (a failed job, a failing loop), if it has."""
        return None
