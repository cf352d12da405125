"""One contender's run: fresh OLTP tables, the contender started on them, the ladder climbed, the final tables
checked against the oracle, everything the contender started stopped again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from warehouse.bench.config import BenchConfig
from warehouse.bench.contender import Contender
from warehouse.bench.correctness import Correctness, await_oracle
from warehouse.bench.feeder import apply_batched
from warehouse.bench.freshness import Canaries
from warehouse.bench.ladder import Watch, run_step
from warehouse.bench.resources import ResourceSampler
from warehouse.bench.results import ContenderResult, StepResult
from warehouse.bench.workload import Workload, read_ops
from warehouse.config import Settings
from warehouse.demo.live import prepare_shop
from warehouse.demo.schema import SHOP_DATABASE
from warehouse.errors import WarehouseError
from warehouse.jobmanager import JobManagerClient
from warehouse.store import connect

Progress = Callable[[str], None]


@dataclass
class _Outcome:
    steps: list[StepResult] = field(default_factory=list)
    correctness: Correctness | None = None
    error: str | None = None
    build_seconds: float | None = None


def run_contender(
    settings: Settings, config: BenchConfig, workload: Workload, contender: Contender, say: Progress
) -> ContenderResult:
    say(f"== {contender.title}")
    _fresh_shop(settings, workload, say)
    watch, outcome = _watch(settings, config, contender), _Outcome()
    try:
        _run(settings, config, workload, watch, outcome, say)
    except WarehouseError as exc:
        outcome.error = exc.message
        say(f"{contender.name} failed: {exc.message}")
    finally:
        watch.canaries.stop()
        watch.resources.stop()
        state_by_job = _state_by_job(settings, contender)
        contender.stop(say)
    return _result(contender, outcome, state_by_job, watch)


def _run(
    settings: Settings, config: BenchConfig, workload: Workload, watch: Watch, outcome: _Outcome, say: Progress
) -> None:
    """Start the contender, wait until it is live, climb the ladder, check the final tables."""
    started, contender = time.monotonic(), watch.contender
    contender.start(say)
    contender.await_ready(workload.product_count, say)
    watch.canaries.start()
    watch.resources.start()
    _warm_up(watch, config.warm_up_timeout, say)
    outcome.build_seconds = round(time.monotonic() - started, 1)
    _climb(settings, config, workload, watch, outcome.steps, say)
    watch.canaries.stop()  # the oracle needs a quiet source
    outcome.correctness = _check(settings, config, workload, contender, say)


def _fresh_shop(settings: Settings, workload: Workload, say: Progress) -> None:
    """New OLTP tables with the product dimension and the history loaded."""
    store = settings.profile.store_connection()
    prepare_shop(store)
    with connect(store, database=SHOP_DATABASE) as conn:
        apply_batched(conn, read_ops(workload.products), None, 5_000, None)
        if workload.history is not None:
            apply_batched(conn, read_ops(workload.history.path), None, 5_000, None)
            say(f"loaded the history: {workload.history.orders:,} orders ({workload.history.ops:,} operations)")


def _watch(settings: Settings, config: BenchConfig, contender: Contender) -> Watch:
    store = settings.profile.store_connection()
    canaries = Canaries(store, contender.layers(), config.canary_interval, config.poll_interval)
    jobmanager = JobManagerClient(settings.profile.flink_endpoints().rest_url, 10)
    resources = ResourceSampler(
        settings, jobmanager, contender.name, lambda: list(contender.flink_jobs().values()), contender.helper_pids
    )
    return Watch(contender, canaries, resources)


def _warm_up(watch: Watch, timeout: float, say: Progress) -> None:
    """Wait until the first canary has reached every layer: the contender is live end to end."""
    started = time.monotonic()
    deadline = started + timeout
    layers = [layer.name for layer in watch.contender.layers()]
    while time.monotonic() < deadline:
        if watch.canaries.last() and all(watch.canaries.visible(layer) >= 1 for layer in layers):
            waited = time.monotonic() - started
            say(f"{watch.contender.name}: canaries reach every layer ({', '.join(layers)}) after {waited:.0f}s")
            return
        problem = watch.contender.problem() or (watch.canaries.errors and watch.canaries.errors[0])
        if problem:
            raise WarehouseError(f"{watch.contender.name} is not working: {problem}")
        time.sleep(0.2)
    raise WarehouseError(f"no canary reached every layer of {watch.contender.name} within {timeout:.0f}s")


def _climb(
    settings: Settings, config: BenchConfig, workload: Workload, watch: Watch, steps: list[StepResult], say: Progress
) -> None:
    """Run the ladder's steps into `steps` (kept when a later step fails)."""
    for rate in config.ladder:
        step = run_step(settings.profile.store_connection(), config, workload.step(rate), watch, say)
        steps.append(step)
        say(
            f"{watch.contender.name} {rate:,} orders/s: {'sustained' if step.sustained else 'NOT sustained'}, "
            f"{step.verdict}; {_freshness_summary(step)}"
        )
        if not step.sustained and config.stop_at_first_unsustained:
            break


def _freshness_summary(step: StepResult) -> str:
    parts = [f"{layer} p50 {f.p50}s p99 {f.p99}s" for layer, f in step.freshness.items()]
    return "freshness " + ", ".join(parts)


def _check(
    settings: Settings, config: BenchConfig, workload: Workload, contender: Contender, say: Progress
) -> Correctness:
    say(f"{contender.name}: comparing the final tables with the oracle")
    names = {int(product): frozenset(history) for product, history in workload.renamed.items()}
    store = settings.profile.store_connection()
    correctness = await_oracle(store, contender.relations(), names, config.converge_timeout)
    if correctness.passed:
        say(f"{contender.name}: all {len(contender.relations())} tables equal the oracle")
    else:
        say(f"{contender.name}: DIFFERENT from the oracle: {', '.join(correctness.differences)}")
    return correctness


def _state_by_job(settings: Settings, contender: Contender) -> dict[str, int]:
    jobmanager = JobManagerClient(settings.profile.flink_endpoints().rest_url, 10)
    sizes = {}
    for model, job_id in contender.flink_jobs().items():
        try:
            latest = (jobmanager.checkpoints(job_id).get("latest") or {}).get("completed") or {}
        except WarehouseError:
            continue
        sizes[model] = int(latest.get("state_size") or latest.get("checkpointed_size") or 0)
    return sizes


def _result(contender: Contender, outcome: _Outcome, state_by_job: dict[str, int], watch: Watch) -> ContenderResult:
    steps = outcome.steps
    origin = steps[0].started_at if steps else time.time()
    layers = [layer.name for layer in contender.layers()]
    return ContenderResult(
        name=contender.name,
        title=contender.title,
        layers=layers,
        steps=steps,
        sustained_rate=_sustained_rate(steps),
        build_seconds=outcome.build_seconds,
        correctness=outcome.correctness,
        error=outcome.error,
        flink_state_by_job=state_by_job,
        freshness_series={layer: _freshness_series(watch, layer, origin) for layer in layers},
        state_series=_state_series(watch, origin),
    )


def _freshness_series(watch: Watch, layer: str, origin: float) -> list[tuple[float, float]]:
    return [(round(at - origin, 2), round(lag, 3)) for at, lag in watch.canaries.series(layer) if at >= origin]


def _state_series(watch: Watch, origin: float) -> list[tuple[float, int]]:
    samples = watch.resources.samples
    return [(round(s.at - origin, 1), s.flink_state_bytes) for s in samples if s.flink_state_bytes and s.at >= origin]


def _sustained_rate(steps: list[StepResult]) -> int | None:
    rate = None
    for step in steps:
        if not step.sustained:
            break
        rate = step.rate
    return rate
