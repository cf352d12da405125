"""What a benchmark run found, as JSON-ready models."""

from __future__ import annotations

from pydantic import BaseModel

from warehouse.bench.config import BenchConfig
from warehouse.bench.correctness import Correctness


class LayerFreshness(BaseModel):
    """Seconds from a canary's commit to its visibility in the layer, over the canaries of one step."""

    p50: float | None
    p99: float | None
    max: float | None
    seen: int
    missing: int


class StepResult(BaseModel):
    rate: int  # target orders/s
    orders: int
    source_rows: int  # operations on the OLTP tables (inserts, updates, deletes)
    started_at: float  # epoch seconds
    feed_seconds: float
    orders_per_s: float  # achieved
    source_rows_per_s: float  # achieved
    freshness: dict[str, LayerFreshness]
    lag_first_third_s: float | None  # deepest layer's median freshness in the step's first and last thirds
    lag_last_third_s: float | None
    drain_seconds: float | None  # after the feed ended, until every layer showed the step's last canary
    sustained: bool
    verdict: str
    cpu_seconds: float | None
    cpu_cores: float | None  # average over feed and drain
    cpu_cores_by_part: dict[str, float]  # postgres walsenders / backends / background, flink taskmanager, ...
    other_cores: float | None  # the machine's busy cores outside the stack: feeder, probes, anything else
    cpu_s_per_million_rows: float | None
    wal_bytes: int
    wal_bytes_per_row: float
    memory_peak_bytes: int | None
    flink_state_bytes: int | None  # at the end of the step
    slot_lag_peak_bytes: int | None


class ContenderResult(BaseModel):
    name: str
    title: str
    layers: list[str]
    steps: list[StepResult]
    sustained_rate: int | None  # the highest ladder step (orders/s) with flat lag, all lower steps included
    build_seconds: float | None = None  # from the start until the first canary reached every layer (history built)
    correctness: Correctness | None
    error: str | None
    flink_state_by_job: dict[str, int]  # at the end, model -> checkpointed state bytes
    freshness_series: dict[str, list[tuple[float, float]]]  # layer -> (seconds since the ladder began, freshness)
    state_series: list[tuple[float, int]]  # (seconds since the ladder began, Flink state bytes)


class Machine(BaseModel):
    cpus: int
    cpu_model: str
    memory_bytes: int
    system: str
    python: str
    postgres: str
    flink: str


class BenchResult(BaseModel):
    config: BenchConfig
    machine: Machine
    workload: dict[str, int]  # operation mix of the recorded workload
    renamed_products: int
    started_at: str
    finished_at: str
    contenders: list[ContenderResult]

    def contender(self, name: str) -> ContenderResult | None:
        return next((c for c in self.contenders if c.name == name), None)
