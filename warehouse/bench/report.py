"""The results as `results.json`, `results.md` (tables, ratios against P0, the targets) and `freshness.png`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from warehouse.bench.results import BenchResult, ContenderResult, StepResult

Progress = Callable[[str], None]
TARGET_RATE = 10_000
TARGET_DWD_P99_S = 1.5
TARGET_DWS_P99_S = 3.0
TARGET_MEMORY_BYTES = 4 * 2**30
TARGET_FRESHNESS_RATIO = 20.0
SUMMARY_LAYERS = ("dwd", "dws")


def write_report(result: BenchResult, folder: Path, say: Progress) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, md_path = folder / "results.json", folder / "results.md"
    json_path.write_text(result.model_dump_json(indent=1))
    md_path.write_text(markdown(result))
    written = [json_path, md_path]
    plot = write_plot(result, folder / "freshness.png", say)
    return written + ([plot] if plot else [])


def rewrite_report(folder: Path, say: Progress) -> list[Path]:
    """results.md and freshness.png again from a run's results.json (e.g. after the report format changed)."""
    result = BenchResult.model_validate_json((folder / "results.json").read_text())
    return write_report(result, folder, say)


# ---- markdown ----------------------------------------------------------------------------------


def markdown(result: BenchResult) -> str:
    sections = [
        _header(result),
        _summary(result),
        _ratios(result),
        _targets(result),
        _cpu_parts(result),
        *(_steps(contender) for contender in result.contenders),
        _correctness(result),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def reference_rate(result: BenchResult) -> int | None:
    """Where the contenders are compared on the same input: the highest ladder step every one of them sustained,
    else the highest step every one of them ran."""
    for steps_of in (_sustained_steps, _steps_run):
        rates = [steps_of(c) for c in result.contenders if c.steps]
        common = set.intersection(*rates) if rates else set()
        if common:
            return max(common)
    return None


def _sustained_steps(contender: ContenderResult) -> set[int]:
    return {step.rate for step in contender.steps if step.sustained}


def _steps_run(contender: ContenderResult) -> set[int]:
    return {step.rate for step in contender.steps}


def step_at(contender: ContenderResult | None, rate: int | None) -> StepResult | None:
    if contender is None or rate is None:
        return None
    return next((step for step in contender.steps if step.rate == rate), None)


def _header(result: BenchResult) -> str:
    m, c = result.machine, result.config
    ladder = " → ".join(f"{rate:,}" for rate in c.ladder)
    mix = ", ".join(f"{count:,} {kind}" for kind, count in result.workload.items())
    return "\n".join(
        [
            "# warehouse bench: results",
            "",
            f"- run: {result.started_at} → {result.finished_at}",
            f"- machine: {m.cpus} CPUs ({m.cpu_model}), {m.memory_bytes / 2**30:.1f} GiB, {m.system}",
            f"- software: PostgreSQL {m.postgres}, Flink {m.flink}, Python {m.python}",
            f"- workload W1: ladder {ladder} orders/s, {c.step_seconds:g} s per step, {c.users:,} users, "
            f"{c.shops:,} shops (Zipf {c.shop_skew:g}), {c.products:,} products ({result.renamed_products} renamed)",
            f"- operations recorded: {mix}",
        ]
    )


def _summary(result: BenchResult) -> str:
    rate = reference_rate(result)
    rows = [
        "## Summary",
        "",
        f"Sustained = highest step with flat lag. Freshness, CPU and WAL at the common step "
        f"({_rate(rate)} orders/s: the highest step every contender sustained, else ran). Built in = from the "
        "contender's start until its layers were live (the history built).",
        "",
        "| contender | sustained orders/s | freshness p50 / p99 (s) | CPU s per M rows | WAL B/row | "
        "Flink state | peak memory | built in | oracle |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    rows += [_summary_row(contender, step_at(contender, rate)) for contender in result.contenders]
    return "\n".join(rows)


def summary_lines(result: BenchResult) -> list[str]:
    """The run in a few terminal lines: per contender, its highest sustained rate and its DWD and DWS freshness
    at the reference rate."""
    rate = reference_rate(result)
    lines = [f"summary at {_rate(rate)} orders/s (highest step all sustained, else ran); freshness p50/p99 in s:"]
    for contender in result.contenders:
        step = step_at(contender, rate)
        fresh = "  ".join(f"{layer} {_pair(step, layer) if step else 'n/a'}" for layer in SUMMARY_LAYERS)
        stopped = "  (stopped early)" if contender.error else ""
        lines.append(f"  {contender.name:<4} sustained {_rate(contender.sustained_rate):>7} orders/s  {fresh}{stopped}")
    return lines


def _summary_row(contender: ContenderResult, step: StepResult | None) -> str:
    cells = [contender.title, _rate(contender.sustained_rate), _freshness_cell(step)]
    if step is None:
        cells += ["n/a"] * 4
    else:
        cells += [_num(step.cpu_s_per_million_rows), _num(step.wal_bytes_per_row)]
        cells += [_bytes(step.flink_state_bytes), _bytes(step.memory_peak_bytes)]
    built = f"{contender.build_seconds:g} s" if contender.build_seconds is not None else "n/a"
    return "| " + " | ".join([*cells, built, _oracle(contender)]) + " |"


def _ratios(result: BenchResult) -> str:
    rate, base = reference_rate(result), result.contender("p0")
    p0 = step_at(base, rate)
    if p0 is None:
        return ""
    rows = [
        "## Ratios against P0",
        "",
        f"Peer ÷ P0 at {_rate(rate)} orders/s: above 1 means P0 is fresher or cheaper by that factor.",
        "",
        "| contender | "
        + " | ".join(f"{layer} p50 | {layer} p99" for layer in p0.freshness)
        + " | CPU/row | WAL/row |",
        "|---|" + "---|---|" * len(p0.freshness) + "---|---|",
    ]
    for contender in result.contenders:
        step = step_at(contender, rate)
        if contender.name != "p0" and step is not None:
            rows.append(f"| {contender.name} | " + " | ".join(_ratio_cells(step, p0)) + " |")
    return "\n".join(rows)


def _ratio_cells(step: StepResult, p0: StepResult) -> list[str]:
    cells = []
    for layer, mine in p0.freshness.items():
        theirs = step.freshness.get(layer)
        cells += [_ratio(theirs.p50 if theirs else None, mine.p50), _ratio(theirs.p99 if theirs else None, mine.p99)]
    cells.append(_ratio(step.cpu_s_per_million_rows, p0.cpu_s_per_million_rows))
    cells.append(_ratio(step.wal_bytes_per_row, p0.wal_bytes_per_row))
    return cells


def _targets(result: BenchResult) -> str:
    p0, p1, p2 = (result.contender(name) for name in ("p0", "p1", "p2"))
    if p0 is None:
        return ""
    at_target = step_at(p0, TARGET_RATE) or step_at(p0, p0.sustained_rate)
    rate = reference_rate(result)
    lines = ["## Targets (measured, not asserted)", ""]
    lines.append(
        _target(
            f"P0 sustains ≥ {TARGET_RATE:,} orders/s",
            f"{_rate(p0.sustained_rate)} orders/s",
            (p0.sustained_rate or 0) >= TARGET_RATE,
        )
    )
    lines += _freshness_targets(at_target)
    lines.append(_state_target(p0))
    peak = max((s.memory_peak_bytes or 0 for s in p0.steps), default=0)
    lines.append(_target("embedded stack < 4 GiB (PSS)", _bytes(peak or None), 0 < peak < TARGET_MEMORY_BYTES))
    lines.append(_freshness_ratio_target(step_at(p0, rate), step_at(p2, rate), rate))
    lines.append(_cpu_target(step_at(p0, rate), step_at(p1, rate), rate))
    return "\n".join(lines)


def _freshness_targets(step: StepResult | None) -> list[str]:
    if step is None:
        return [_target("P0 freshness", "no step ran", False)]
    where = f"at {step.rate:,} orders/s" + ("" if step.rate >= TARGET_RATE else " (P0's highest sustained step)")
    dwd, dws = step.freshness.get("dwd"), step.freshness.get("dws")
    return [
        _target(
            f"P0 DWD p99 ≤ {TARGET_DWD_P99_S} s {where}",
            f"{_num(dwd.p99 if dwd else None)} s",
            bool(dwd and dwd.p99 is not None and dwd.p99 <= TARGET_DWD_P99_S),
        ),
        _target(
            f"P0 DWS p99 ≤ {TARGET_DWS_P99_S} s {where}",
            f"{_num(dws.p99 if dws else None)} s",
            bool(dws and dws.p99 is not None and dws.p99 <= TARGET_DWS_P99_S),
        ),
    ]


def _state_target(p0: ContenderResult) -> str:
    sizes = [step.flink_state_bytes for step in p0.steps if step.flink_state_bytes is not None]
    measured = " → ".join(_bytes(size) for size in sizes) or "n/a"
    jobs = ", ".join(f"{model} {_bytes(size)}" for model, size in sorted(p0.flink_state_by_job.items()) if size)
    return _target("P0 Flink state flat over the steps", f"{measured} (at the end: {jobs or 'none'})", None)


def _freshness_ratio_target(p0: StepResult | None, p2: StepResult | None, rate: int | None) -> str:
    ratios = [
        _quotient(p2.freshness[layer].p50, p0.freshness[layer].p50)
        for layer in ("dwd", "dws", "ads")
        if p0 and p2 and layer in p0.freshness and layer in p2.freshness
    ]
    found = [r for r in ratios if r is not None]
    measured = ", ".join(f"{r:.0f}x" for r in found) + " (DWD, DWS, ADS p50)" if found else "n/a"
    met = bool(found) and min(found) >= TARGET_FRESHNESS_RATIO
    return _target(f"P0 ≥ {TARGET_FRESHNESS_RATIO:.0f}x fresher than P2 at {_rate(rate)} orders/s", measured, met)


def _cpu_target(p0: StepResult | None, p1: StepResult | None, rate: int | None) -> str:
    mine, theirs = (p0.cpu_s_per_million_rows if p0 else None), (p1.cpu_s_per_million_rows if p1 else None)
    measured = f"P0 {_num(mine)} vs P1 {_num(theirs)} CPU s per M rows"
    met = mine is not None and theirs is not None and mine < theirs
    return _target(f"P0 CPU per row below P1's at {_rate(rate)} orders/s", measured, met if theirs else None)


def _target(what: str, measured: str, met: bool | None) -> str:
    mark = {True: "met", False: "**missed**", None: "see numbers"}[met]
    return f"- {what}: {measured} — {mark}"


def _cpu_parts(result: BenchResult) -> str:
    rate = reference_rate(result)
    parts = sorted({part for c in result.contenders for s in c.steps for part in s.cpu_cores_by_part})
    if not parts:
        return ""
    rows = [
        "## Where the CPU goes",
        "",
        f"Average cores per part of the stack at {_rate(rate)} orders/s (feed and drain); `other` is the rest of "
        "the machine: the feeder, the probes and anything else running.",
        "",
        "| contender | " + " | ".join(parts) + " | other |",
        "|---|" + "---|" * (len(parts) + 1),
    ]
    for contender in result.contenders:
        step = step_at(contender, rate)
        if step is not None:
            cells = [_num(step.cpu_cores_by_part.get(part)) for part in parts] + [_num(step.other_cores)]
            rows.append(f"| {contender.name} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _steps(contender: ContenderResult) -> str:
    layers = contender.layers
    rows = [
        f"## {contender.title}",
        "",
        "| step orders/s | achieved orders/s | rows/s | "
        + " | ".join(f"{layer} p50/p99 s" for layer in layers)
        + " | drain s | CPU cores | CPU s/M rows | WAL B/row | Flink state | memory | verdict |",
        "|---|---|---|" + "---|" * len(layers) + "---|---|---|---|---|---|---|",
    ]
    for step in contender.steps:
        fresh = " | ".join(_pair(step, layer) for layer in layers)
        rows.append(
            f"| {step.rate:,} | {step.orders_per_s:,.0f} | {step.source_rows_per_s:,.0f} | {fresh} | "
            f"{_num(step.drain_seconds)} | {_num(step.cpu_cores)} | {_num(step.cpu_s_per_million_rows)} | "
            f"{_num(step.wal_bytes_per_row)} | {_bytes(step.flink_state_bytes)} | {_bytes(step.memory_peak_bytes)} | "
            f"{'✓' if step.sustained else '✗'} {step.verdict} |"
        )
    if contender.error:
        rows += ["", f"Stopped early: {contender.error}"]
    return "\n".join(rows)


def _correctness(result: BenchResult) -> str:
    rows = ["## Correctness against the oracle", ""]
    for contender in result.contenders:
        rows.append(f"- {contender.name}: {_oracle(contender)}")
        for table, text in (contender.correctness.differences if contender.correctness else {}).items():
            rows.append(f"  - {table}: " + text.splitlines()[0])
    return "\n".join(rows)


def _oracle(contender: ContenderResult) -> str:
    check = contender.correctness
    if check is None:
        return "not checked"
    if check.passed:
        return f"equal (settled {check.seconds_to_converge:g} s after the last step)"
    return f"**different** in {', '.join(check.differences)}"


def _freshness_cell(step: StepResult | None) -> str:
    if step is None:
        return "n/a"
    return ", ".join(f"{layer} {_num(f.p50)}/{_num(f.p99)}" for layer, f in step.freshness.items())


def _pair(step: StepResult, layer: str) -> str:
    found = step.freshness.get(layer)
    return f"{_num(found.p50)}/{_num(found.p99)}" if found else "n/a"


def _ratio(theirs: float | None, mine: float | None) -> str:
    quotient = _quotient(theirs, mine)
    return f"{quotient:.1f}x" if quotient is not None else "n/a"


def _quotient(theirs: float | None, mine: float | None) -> float | None:
    return theirs / mine if theirs is not None and mine else None


def _num(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _rate(value: int | None) -> str:
    return f"{value:,}" if value is not None else "none"


def _bytes(value: int | None) -> str:
    if not value:
        return "n/a"
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value} B"


# ---- plot --------------------------------------------------------------------------------------


def write_plot(result: BenchResult, path: Path, say: Progress) -> Path | None:
    """Freshness over time per layer (one line per contender) and Flink state over time; needs matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        say("freshness.png skipped: matplotlib is not installed (pip install 'warehouse[bench]')")
        return None
    layers = _plotted_layers(result.contenders)
    figure, axes = plt.subplots(len(layers) + 1, 1, figsize=(11, 3.2 * (len(layers) + 1)), sharex=True)
    for axis, layer in zip(axes, layers, strict=False):
        _plot_layer(axis, result.contenders, layer)
    _plot_state(axes[-1], result.contenders)
    axes[-1].set_xlabel("seconds since the first ladder step")
    figure.suptitle("warehouse bench: freshness (commit → visible) over the ladder")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _plotted_layers(contenders: Iterable[ContenderResult]) -> list[str]:
    order = ["ods", "dwd", "dws", "ads"]
    present = {layer for contender in contenders for layer in contender.layers}
    return [layer for layer in order if layer in present]


def _plot_layer(axis: Any, contenders: list[ContenderResult], layer: str) -> None:
    for contender in contenders:
        points = contender.freshness_series.get(layer, [])
        if points:
            axis.plot([p[0] for p in points], [p[1] for p in points], label=contender.name, linewidth=0.8)
    axis.set_yscale("log")
    axis.set_ylabel(f"{layer} freshness (s)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(loc="upper left")


def _plot_state(axis: Any, contenders: list[ContenderResult]) -> None:
    for contender in contenders:
        if contender.state_series:
            xs, ys = zip(*contender.state_series, strict=True)
            axis.plot(xs, [y / 2**20 for y in ys], label=contender.name)
    axis.set_ylabel("Flink checkpointed state (MiB)")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="upper left")
