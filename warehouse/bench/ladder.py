"""One ladder step: feed the step's recorded operations at its rate, let the contender catch up, measure.

A step is *sustained* when the feeder reached at least `MIN_RATE_SHARE` of the target rate, every canary of the
step reached every layer, and the deepest layer's lag stayed flat: its median freshness in the last third of the
step exceeds the first third's by no more than max(`FLAT_SLACK_S`, `FLAT_SLACK_SHARE` x the first third's).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from warehouse.bench.config import BenchConfig
from warehouse.bench.contender import Contender
from warehouse.bench.feeder import FeederProcess
from warehouse.bench.freshness import Canaries
from warehouse.bench.resources import ResourceSampler, Sample, cpu_by_part
from warehouse.bench.results import LayerFreshness, StepResult
from warehouse.bench.workload import StepInput
from warehouse.config import StoreConnection
from warehouse.errors import WarehouseError

Progress = Callable[[str], None]
MIN_RATE_SHARE = 0.95
FLAT_SLACK_S = 1.0
FLAT_SLACK_SHARE = 0.5
REPORT_EVERY_S = 3.0
PROBLEM_CHECK_EVERY_S = 5.0


@dataclass
class Watch:
    """A running contender and what observes it."""

    contender: Contender
    canaries: Canaries
    resources: ResourceSampler


@dataclass(frozen=True)
class Window:
    started: float
    fed: float  # the feeder's last commit
    drained: float | None


def run_step(store: StoreConnection, config: BenchConfig, step: StepInput, watch: Watch, say: Progress) -> StepResult:
    source_rate = step.rate * step.ops / step.orders
    per_commit = max(1, round(source_rate / config.commits_per_second))
    feeder = FeederProcess(store, step.path, source_rate, per_commit)
    feeder.start()
    try:
        _follow(feeder, config, step, watch, say)
    finally:
        feeder.stop()
    started, fed = feeder.started() or time.time(), feeder.finished() or time.time()
    window = Window(started, fed, _drain(watch, config.drain_timeout))
    return _measure(step, feeder.orders, feeder.ops, window, watch)


def _follow(feeder: FeederProcess, config: BenchConfig, step: StepInput, watch: Watch, say: Progress) -> None:
    """Report while the feeder runs; stop it past its deadline; fail on a broken contender or feeder."""
    began = time.monotonic()
    deadline = began + max(3 * config.step_seconds, config.step_seconds + 60)
    last_report = last_check = began
    while feeder.process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.5)
        now = time.monotonic()
        if now - last_report >= REPORT_EVERY_S:
            last_report = now
            say(_progress_line(feeder, step, watch))
        if now - last_check >= PROBLEM_CHECK_EVERY_S:
            last_check = now
            _raise_on_problem(watch.contender)
    if feeder.error():
        raise WarehouseError(f"the feeder failed: {feeder.error()}")


def _raise_on_problem(contender: Contender) -> None:
    problem = contender.problem()
    if problem:
        raise WarehouseError(f"{contender.name} stopped working: {problem}")


def _drain(watch: Watch, timeout: float) -> float | None:
    """Wait until every layer shows the last canary committed so far; when, or None on timeout."""
    target, deadline = watch.canaries.last(), time.monotonic() + timeout
    layers = [layer.name for layer in watch.contender.layers()]
    while time.monotonic() < deadline:
        if all(watch.canaries.visible(layer) >= target for layer in layers):
            return time.time()
        time.sleep(0.1)
    return None


def _progress_line(feeder: FeederProcess, step: StepInput, watch: Watch) -> str:
    lags = " ".join(
        f"{layer.name} {_current_lag(watch.canaries, layer.name):.1f}s" for layer in watch.contender.layers()
    )
    samples = watch.resources.samples[-6:]
    cores = _cores(samples[0], samples[-1]) if len(samples) > 1 else None
    state = samples[-1].flink_state_bytes if samples else None
    extra = f" · {cores:.2f} cores" if cores is not None else ""
    extra += f" · state {state / 2**20:.1f} MiB" if state else ""
    return (
        f"{watch.contender.name} {step.rate:,} orders/s: fed {feeder.orders:,}/{step.orders:,} orders "
        f"({feeder.orders / max(time.time() - (feeder.started() or time.time()), 1e-9):,.0f}/s) · lag {lags}{extra}"
    )


def _current_lag(canaries: Canaries, layer: str) -> float:
    """How old the oldest canary not yet visible is; else the freshness of the last one seen."""
    visible = canaries.visible(layer)
    pending = canaries.committed.get(visible + 1)
    if pending is not None:
        return max(0.0, time.time() - pending)
    seen = canaries.seen[layer].get(visible)
    committed = canaries.committed.get(visible)
    return seen - committed if seen is not None and committed is not None else 0.0


def _measure(step: StepInput, orders: int, ops: int, window: Window, watch: Watch) -> StepResult:
    feed_seconds = max(window.fed - window.started, 1e-9)
    layers = [layer.name for layer in watch.contender.layers()]
    freshness = {layer: _freshness(watch.canaries, layer, window) for layer in layers}
    first, last = _thirds(watch.canaries, layers[-1], window)
    orders_per_s = orders / feed_seconds
    sustained, verdict = _verdict(step.rate, orders_per_s, freshness, first, last, window)
    resources = _resources(watch.resources, window, ops)
    return StepResult(
        rate=step.rate,
        orders=orders,
        source_rows=ops,
        started_at=window.started,
        feed_seconds=round(feed_seconds, 2),
        orders_per_s=round(orders_per_s, 1),
        source_rows_per_s=round(ops / feed_seconds, 1),
        freshness=freshness,
        lag_first_third_s=first,
        lag_last_third_s=last,
        drain_seconds=round(window.drained - window.fed, 2) if window.drained else None,
        sustained=sustained,
        verdict=verdict,
        **asdict(resources),
    )


def _freshness(canaries: Canaries, layer: str, window: Window) -> LayerFreshness:
    found, missing = canaries.latencies(layer, window.started, window.fed)
    ordered = sorted(found)
    return LayerFreshness(
        p50=_rounded(_percentile(ordered, 50)),
        p99=_rounded(_percentile(ordered, 99)),
        max=_rounded(ordered[-1] if ordered else None),
        seen=len(ordered),
        missing=missing,
    )


def _thirds(canaries: Canaries, layer: str, window: Window) -> tuple[float | None, float | None]:
    third = (window.fed - window.started) / 3
    first, _ = canaries.latencies(layer, window.started, window.started + third)
    last, _ = canaries.latencies(layer, window.fed - third, window.fed)
    return (
        _rounded(statistics.median(first) if first else None),
        _rounded(statistics.median(last) if last else None),
    )


def _verdict(
    rate: int,
    achieved: float,
    freshness: dict[str, LayerFreshness],
    first: float | None,
    last: float | None,
    window: Window,
) -> tuple[bool, str]:
    if achieved < MIN_RATE_SHARE * rate:
        return False, f"the feeder reached only {achieved:,.0f} orders/s ({achieved / rate:.0%} of the target)"
    missing = {layer: f.missing for layer, f in freshness.items() if f.missing}
    if missing or window.drained is None:
        return False, f"canaries never arrived within the drain timeout: {missing or 'the last one'}"
    if first is None or last is None:
        return False, "too few canaries to judge the lag (lengthen the step)"
    if last - first > max(FLAT_SLACK_S, FLAT_SLACK_SHARE * first):
        return False, f"lag grew from {first:.2f}s to {last:.2f}s during the step"
    return True, f"lag flat ({first:.2f}s -> {last:.2f}s)"


@dataclass(frozen=True)
class ResourceUse:
    cpu_seconds: float | None = None
    cpu_cores: float | None = None  # average over feed and drain
    cpu_cores_by_part: dict[str, float] = field(default_factory=dict)
    other_cores: float | None = None  # busy cores of the machine outside the stack (feeder, probes, others)
    cpu_s_per_million_rows: float | None = None
    wal_bytes: int = 0
    wal_bytes_per_row: float = 0.0
    memory_peak_bytes: int | None = None
    flink_state_bytes: int | None = None
    slot_lag_peak_bytes: int | None = None


def _resources(sampler: ResourceSampler, window: Window, ops: int) -> ResourceUse:
    samples = sampler.between(window.started - 1.5, (window.drained or time.time()) + 1.5)
    if len(samples) < 2:
        return ResourceUse()
    first, last = samples[0], samples[-1]
    cpu = None
    if last.cpu_seconds is not None and first.cpu_seconds is not None:
        cpu = last.cpu_seconds - first.cpu_seconds
    wal, seconds = last.wal_bytes - first.wal_bytes, max(last.at - first.at, 1e-9)
    machine = (last.machine_busy_seconds - first.machine_busy_seconds) / seconds
    by_part = {part: round(used / seconds, 3) for part, used in sorted(cpu_by_part(first, last).items())}
    return ResourceUse(
        cpu_seconds=_rounded(cpu),
        cpu_cores=_rounded(_cores(first, last)),
        cpu_cores_by_part=by_part,
        other_cores=_rounded(machine - cpu / seconds if cpu is not None else None),
        cpu_s_per_million_rows=_rounded(cpu * 1e6 / ops if cpu is not None and ops else None),
        wal_bytes=wal,
        wal_bytes_per_row=round(wal / ops, 1) if ops else 0.0,
        memory_peak_bytes=max((s.memory_bytes for s in samples if s.memory_bytes is not None), default=None),
        flink_state_bytes=last.flink_state_bytes,
        slot_lag_peak_bytes=max((s.slot_lag_bytes for s in samples if s.slot_lag_bytes is not None), default=None),
    )


def _cores(first: Sample, last: Sample) -> float | None:
    if first.cpu_seconds is None or last.cpu_seconds is None or last.at <= first.at:
        return None
    return (last.cpu_seconds - first.cpu_seconds) / (last.at - first.at)


def _percentile(ordered: list[float], percent: float) -> float | None:
    """Nearest-rank percentile of an ascending list."""
    if not ordered:
        return None
    rank = max(1, -(-len(ordered) * percent // 100))
    return ordered[int(rank) - 1]


def _rounded(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None
