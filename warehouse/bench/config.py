"""What a benchmark run measures: the ladder of input rates, the contenders, the workload's shape."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ContenderName = Literal["p0", "p1", "p2", "p3"]
ALL_CONTENDERS: tuple[ContenderName, ...] = ("p0", "p1", "p2", "p3")


class BenchConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ladder: tuple[int, ...] = Field(
        default=(1_000, 2_000, 5_000, 10_000, 20_000), description="input rates to climb, in orders per second"
    )
    step_seconds: float = Field(default=45.0, gt=0, description="how long each ladder step feeds orders")
    contenders: tuple[ContenderName, ...] = Field(default=ALL_CONTENDERS, description="p0 p1 p2 p3, in run order")
    output_dir: Path = Field(default=Path("target/bench"), description="workload, results.json/.md, freshness.png")
    history_orders: int = Field(
        default=0, ge=0, description="orders loaded before the contender starts (the tables' existing history)"
    )
    seed: int = 42
    users: int = Field(default=20_000, ge=1)
    shops: int = Field(default=500, ge=1)
    shop_skew: float = Field(default=1.2, ge=0, description="Zipf exponent of the shop choice")
    products: int = Field(default=2_000, ge=1)
    product_rename_ratio: float = Field(default=0.02, ge=0, le=1, description="share of products renamed per step")
    commits_per_second: int = Field(default=50, ge=1, description="the feeder's transactions per second")
    canary_interval: float = Field(default=0.2, gt=0, description="seconds between canary orders")
    poll_interval: float = Field(default=0.05, gt=0, description="seconds between visibility probes of each layer")
    warm_up_timeout: float = Field(
        default=600.0, gt=0, description="how long a contender may take to build its tables from the history"
    )
    drain_timeout: float = Field(default=90.0, gt=0, description="how long a step may take to catch up after it")
    converge_timeout: float = Field(default=180.0, gt=0, description="how long the final tables may take to settle")
    stop_at_first_unsustained: bool = Field(default=True, description="skip higher steps once lag stops being flat")
    p2_pause_seconds: float = Field(default=0.0, ge=0, description="pause between two dbt runs of P2")
    p3_pause_seconds: float = Field(default=0.0, ge=0, description="pause between two refresh rounds of P3")

    @field_validator("ladder")
    @classmethod
    def _rates_climb(cls, ladder: tuple[int, ...]) -> tuple[int, ...]:
        if not ladder or any(rate <= 0 for rate in ladder) or list(ladder) != sorted(set(ladder)):
            raise ValueError("the ladder needs one or more positive, strictly increasing rates")
        return ladder

    @field_validator("contenders")
    @classmethod
    def _distinct(cls, contenders: tuple[ContenderName, ...]) -> tuple[ContenderName, ...]:
        if not contenders or len(set(contenders)) != len(contenders):
            raise ValueError("name each contender once")
        return contenders

    def orders_in_step(self, rate: int) -> int:
        return max(1, round(rate * self.step_seconds))

    @classmethod
    def smoke(cls, output_dir: Path, contenders: tuple[ContenderName, ...] = ("p0", "p2", "p3")) -> BenchConfig:
        """The smallest run that exercises everything: one step of 300 orders (the test suite runs it)."""
        return cls(
            ladder=(100,),
            step_seconds=3,
            contenders=contenders,
            output_dir=output_dir,
            users=50,
            shops=10,
            products=20,
            product_rename_ratio=0.2,
            drain_timeout=60,
            converge_timeout=90,
        )
