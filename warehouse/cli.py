"""The `warehouse` command. Each command is a thin wrapper over one `Context` method."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
from click.core import ParameterSource

from warehouse.errors import WarehouseError
from warehouse.explore.output import FORMATS, change_line, json_line, terminal_table, write_batch

if TYPE_CHECKING:  # the modules behind a command are imported when it runs: `--help` answers at once
    from warehouse.bench.config import BenchConfig
    from warehouse.context import Context
    from warehouse.lifecycle.apply import Action
    from warehouse.lifecycle.plan import Step


class WarehouseGroup(click.Group):
    """Every error is one red line: a WarehouseError (what, where, the fix) exits 2; anything unexpected exits 1
    naming its type. `--debug` adds the traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise  # usage errors, --help, Ctrl-C: click prints them
        except WarehouseError as exc:
            _report(ctx, f"error: {exc.one_line()}")
            sys.exit(2)
        except Exception as exc:
            hint = "" if _debugging(ctx) else "; `warehouse --debug ...` shows where"
            _report(ctx, f"error: unexpected {type(exc).__name__}: {exc} (please report it{hint})")
            sys.exit(1)


def _debugging(ctx: click.Context) -> bool:
    return bool(ctx.params.get("debug"))


def _report(ctx: click.Context, line: str) -> None:
    if _debugging(ctx):
        import traceback

        traceback.print_exc()
    click.secho(line, fg="red", err=True)


@click.group(cls=WarehouseGroup)
@click.option(
    "--project-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="The project folder (holds dbt_project.yml and profiles.yml).",
)
@click.option("--target", "-t", default=None, help="Target in profiles.yml (default: its `target:` key).")
@click.option(
    "--profiles-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder holding profiles.yml (default: the project folder).",
)
@click.option("--debug", is_flag=True, help="Print the traceback behind an error's one line.")
@click.pass_context
def cli(ctx: click.Context, project_dir: Path, target: str | None, profiles_dir: Path | None, debug: bool) -> None:
    """A dbt-style streaming warehouse: ODS -> DWD -> DWS -> ADS as continuous Flink jobs."""
    from warehouse.context import Context

    ctx.obj = Context(project_dir, target=target, profiles_dir=profiles_dir)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path), default=".")
def init(folder: Path) -> None:
    """Start a new project in FOLDER (default: here): dbt_project.yml, a profile for the embedded stack, one
    source and one model per layer (ODS, DWD, DWS, ADS), a model unit test. `warehouse up && warehouse run`
    runs it as it is."""
    from warehouse.context import Context

    written = Context.init(folder)
    for path in written:
        click.echo(f"wrote {folder / path}")
    where = "" if folder.resolve() == Path.cwd() else f"cd {shlex.quote(str(folder))} && "
    click.echo(f"next: {where}warehouse up && warehouse run && warehouse explore ads_device_metrics")


@cli.command()
@click.pass_obj
def up(context: Context) -> None:
    """Start the embedded stack (PostgreSQL, Flink JobManager/TaskManager, SQL Gateway, a supervisor) and resume
    the jobs `down` parked or a crash stopped, from their savepoints or checkpoints. Idempotent."""
    states, recovered = context.up()
    if not states:
        click.echo("remote profile: nothing to start (run `warehouse doctor` to check the services)")
    for state in states:
        click.echo(f"{state.name:<12} {'running' if state.running else 'STOPPED':<8} {state.detail}")
    for job in recovered:
        click.echo(f"{job.job:<24} {job.action:<10} {job.job_id or '-':<34} {job.detail}")


@cli.command()
@click.pass_obj
def down(context: Context) -> None:
    """Stop every job with a savepoint (`up` resumes them), then what `warehouse up` started."""
    parked, stopped = context.down()
    for job in parked:
        click.echo(f"{job.job:<24} {job.action:<10} {job.job_id or '-':<34} {job.detail}")
    click.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@cli.command()
@click.pass_obj
def doctor(context: Context) -> None:
    """Check Java, ports, PostgreSQL (wal_level, slots), jars, JobManager and SQL Gateway."""
    checks = context.doctor()
    for check in checks:
        mark = click.style("ok  ", fg="green") if check.ok else click.style("FAIL", fg="red")
        click.echo(f"{mark} {check.name:<24} {check.detail}")
        if not check.ok and check.fix:
            click.echo(f"     fix: {check.fix}")
    failed = [check for check in checks if not check.ok]
    click.echo(f"{len(checks) - len(failed)} ok, {len(failed)} failed")
    if failed:
        sys.exit(1)


@cli.command()
@click.pass_obj
def smoke(context: Context) -> None:
    """Run the smallest live pipeline (CDC -> Flink -> JDBC) and show it following changes."""
    if not context.smoke():
        sys.exit(1)
    click.echo("smoke pipeline OK")


SELECT_OPTION = click.option("--select", "-s", default=None, help="dbt node selection (e.g. dwd_orders+, tag:x).")
IN_PLACE_OPTION = click.option(
    "--in-place",
    is_flag=True,
    help="Rebuild changed jobs in place (tables cleared and recomputed) instead of blue/green; for development.",
)


def _print_actions(actions: list[Action]) -> None:
    for action in actions:
        detail = f"  {action.detail}" if action.detail else ""
        click.echo(f"{action.model:<24} {action.action:<10} {action.job_id or '-':<34}{detail}")
    if not actions:
        click.echo("nothing to do")


@cli.command(name="compile")
@SELECT_OPTION
@click.pass_obj
def compile_(context: Context, select: str | None) -> None:
    """Render the jobs that run the selected models to Flink SQL (DDL + statement set) under target/warehouse/.

    Models are grouped into jobs so each change log is read once (README "Job groups")."""
    for job, path in context.compile(select):
        click.echo(f"{job.name:<24} {path.relative_to(context.project_dir)}")
        for member in job.members:
            streams = ", ".join(s.name for s in member.streams)
            click.echo(f"  {member.model.name:<22} streams: {streams}")
        for read in job.fused:
            click.echo(f"  reads by query: {read}")
        for reader in job.readers:
            click.echo(f"  change-log reader: {reader}")


@cli.command()
@click.option("--follow", is_flag=True, help="Keep syncing, and deploy the mirrors of a source that changed.")
@click.option(
    "--every", type=click.FloatRange(min=1), default=30.0, show_default=True, metavar="SECONDS", help="Between syncs."
)
@click.pass_obj
def sync(context: Context, follow: bool, every: float) -> None:
    """Mirror the sources that declare `sync:`: write a model per matching table from the source's catalog.

    `plan` and `run` sync first; run it alone to review the mirrored models (models/.../_sync/) before.
    With --follow it evolves the running mirrors itself (blue/green, never emptied) until interrupted."""
    if follow:
        context.follow_sources(every)
        return
    reports = context.sync()
    if not reports:
        click.echo("no source declares `sync:` (see README 'Whole-database sync')")
    for report in reports:
        click.echo(f"{report.source}: {len(report.tables)} table(s) mirrored ({', '.join(report.tables)})")
        for change in report.changes:
            click.echo(f"  {change}")
        for path in report.files:
            click.echo(f"  wrote {path.relative_to(context.project_dir)}" if path.exists() else f"  removed {path}")


@cli.command()
@SELECT_OPTION
@click.option("--full-refresh", is_flag=True, help="Drop and rebuild the selected tables and their dependants.")
@click.option(
    "--plan",
    "reviewed",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    default=None,
    help="Apply exactly this plan (from `warehouse plan --out`); refused if the project or jobs moved since.",
)
@IN_PLACE_OPTION
@click.option(
    "--max-lag",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Blue/green: swap a new version in once it is this many seconds behind the live one, or less [10].",
)
@click.option(
    "--deploy-timeout",
    type=click.FloatRange(min=1),
    default=None,
    help="Blue/green: give a new version up (the live one keeps serving) after this many seconds [900].",
)
@click.pass_obj
def run(
    context: Context,
    select: str | None,
    full_refresh: bool,
    reviewed: Path | None,
    in_place: bool,
    max_lag: float | None,
    deploy_timeout: float | None,
) -> None:
    """Create/evolve the catalog tables and start, keep, resume, upgrade or rebuild each model's job. Idempotent.

    A job whose queries changed is rebuilt blue/green: its new version (and the jobs downstream of it) is built
    beside the live tables, which keep serving, and swapped in when it has caught up."""
    if reviewed is not None:
        if select or full_refresh or in_place:
            raise click.UsageError("--plan applies the reviewed plan's own options; drop -s/--full-refresh/--in-place")
        _print_actions(context.run_reviewed(reviewed))
        return
    _print_actions(context.run(select, full_refresh, in_place, max_lag, deploy_timeout))


@cli.command()
@SELECT_OPTION
@click.pass_obj
def check(context: Context, select: str | None) -> None:
    """Validate models with Flink's planner (EXPLAIN, no job started) and the lints WH001-WH009, then every job
    of several models as it runs."""
    findings = context.check(select)
    for finding in findings:
        color = "red" if finding.severity == "error" else "yellow"
        click.secho(finding.one_line(), fg=color)
    errors = sum(f.severity == "error" for f in findings)
    click.echo(f"{errors} error(s), {len(findings) - errors} warning(s)")
    if errors:
        sys.exit(1)


@cli.command()
@SELECT_OPTION
@click.option("--full-refresh", is_flag=True, help="Plan a full refresh.")
@IN_PLACE_OPTION
@click.option("--diff/--no-diff", default=True, show_default=True, help="Show the compiled SQL diff of changes.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the plan to this file, for `warehouse run --plan FILE`.",
)
@click.pass_obj
def plan(
    context: Context, select: str | None, full_refresh: bool, in_place: bool, diff: bool, out: Path | None
) -> None:
    """What `run` would do, applying nothing: new / changed / removed models, each with its decision, and the
    jobs a blue/green deploy rebuilds beside their live tables.

    Exit code 1 when `run` would refuse the plan."""
    reviewed = context.plan(select, full_refresh, in_place)
    shown = [s for s in reviewed.steps if s.kind != "unchanged" or s.action != "keep"]
    for step in shown:
        click.secho(_planned_line(step), fg="red" if step.action == "refuse" else None)
        if step.action == "refuse" and step.decision.hint:
            click.echo(f"    fix: {step.decision.hint}")
        if diff and step.diff:
            click.echo("\n".join(f"    {line}" for line in step.diff.splitlines()))
    destructive = sum(step.decision.destructive for step in shown)
    summary = (
        f"{len(shown)} change(s), {destructive} destructive"
        if shown
        else "no changes: `warehouse run` would restart nothing"
    )
    click.echo(summary)
    beside = [step for step in shown if step.beside]
    if beside:
        click.echo(
            f"blue/green: {len(beside)} job(s) rebuilt beside their live tables ({_beside_tables(beside)}), "
            "swapped in one at a time, upstream first, once caught up; the live tables keep serving meanwhile"
        )
    if out is not None:
        out.write_text(json.dumps(reviewed.to_json(), indent=2) + "\n")
        click.echo(f"plan written to {out}; apply it with `warehouse run --plan {out}`")
    if reviewed.refusals:
        sys.exit(1)


def _beside_tables(steps: list[Step]) -> str:
    tables = [f"{change.table}" for step in steps for change in step.tables.values()]
    return ", ".join(tables)


def _planned_line(step: Step) -> str:
    traits = []
    if step.breaking is not None:
        traits.append("breaking" if step.breaking else "non-breaking")
    if step.state_compatible is not None:
        traits.append("state-compatible" if step.state_compatible else "state-incompatible")
    label = f" ({', '.join(traits)})" if traits else ""
    mark = " [DESTRUCTIVE]" if step.decision.destructive else " [blue/green]" if step.beside else ""
    line = f"{step.name:<24} {step.kind}{label} -> {step.action}{mark}: {step.reason}"
    members = step.members if step.kind != "indirect" else []
    if len(members) > 1 or (members and members != [step.name]):
        cleared = f"; clears {', '.join(step.clears)}" if step.starts_clean and step.clears and not step.beside else ""
        line += f"\n    job {step.name} runs {', '.join(members)}{cleared}"
    return line


@cli.command()
@SELECT_OPTION
@click.option("--data/--no-data", default=True, show_default=True, help="dbt data tests against the store.")
@click.option("--unit/--no-unit", default=True, show_default=True, help="Model unit tests (unit_tests/*.yml) in Flink.")
@click.pass_obj
def test(context: Context, select: str | None, data: bool, unit: bool) -> None:
    """Data tests (dbt generic + singular, on the store) and model unit tests (YAML fixtures, in Flink)."""
    failed = (_data_tests(context, select) if data else 0) + (_model_tests(context, select) if unit else 0)
    if failed:
        sys.exit(1)


def _data_tests(context: Context, select: str | None) -> int:
    results = context.data_tests(select)
    for result in results:
        color = "green" if result.status == "pass" else "red" if result.status in ("fail", "error") else "yellow"
        detail = f"  ({result.failures} failing rows)" if result.failures else ""
        click.secho(f"{result.status.upper():<5} {result.name}{detail}", fg=color)
        if result.status in ("fail", "error") and result.message:
            click.echo(f"      {result.message}  [{result.path}]")
    failed = sum(r.status in ("fail", "error") for r in results)
    click.echo(f"data tests: {len(results) - failed} passed, {failed} failed")
    return failed


def _model_tests(context: Context, select: str | None) -> int:
    results = context.model_tests(select)
    for result in results:
        click.secho(
            f"{'PASS' if result.passed else 'FAIL':<5} {result.name} ({result.model}) [{result.path}]",
            fg="green" if result.passed else "red",
        )
        if result.diff:
            click.echo("\n".join(f"      {line}" for line in result.diff.splitlines()))
    failed = sum(not r.passed for r in results)
    click.echo(f"model unit tests: {len(results) - failed} passed, {failed} failed")
    return failed


def _rates(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, ...]:
    try:
        return tuple(int(rate) for rate in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of orders/s, e.g. 1000,2000") from None


def _names(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    from warehouse.bench.config import ALL_CONTENDERS

    names = tuple(name.strip() for name in value.split(","))
    unknown = [name for name in names if name not in ALL_CONTENDERS]
    if unknown:
        raise click.BadParameter(
            f"unknown contender(s) {', '.join(map(repr, unknown))}; choose from {', '.join(ALL_CONTENDERS)}"
        )
    return names


@cli.command()
@click.option(
    "--ladder", default="1000,2000,5000,10000,20000", show_default=True, callback=_rates, help="Input rates, orders/s."
)
@click.option("--step-seconds", default=45.0, show_default=True, help="How long each step feeds orders.")
@click.option(
    "--history",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Orders loaded before each contender starts (the tables' history).",
)
@click.option("--seed", default=42, show_default=True, help="Seed of the recorded workload.")
@click.option(
    "--contenders",
    default="p0,p1,p2,p3",
    show_default=True,
    callback=_names,
    help="p0 warehouse, p1 Flink join, p2 dbt incremental loop, p3 materialized views.",
)
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("target/bench"),
    show_default=True,
    help="Workload recording, results.json/.md, freshness.png (relative to --project-dir).",
)
@click.option(
    "--smoke",
    is_flag=True,
    help="The tiny run of the test suite: one step of 300 orders (contenders p0,p2,p3 unless given).",
)
@click.option(
    "--report-only",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    metavar="DIR",
    help="Run nothing: rewrite results.md and freshness.png from DIR/results.json (relative to --project-dir).",
)
@click.pass_context
def bench(ctx: click.Context, /, output_dir: Path, report_only: Path | None, **_: object) -> None:
    """Benchmark throughput and freshness of the layers against the usual alternatives (see BENCHMARKS.md)."""
    context: Context = ctx.obj
    if report_only is not None:
        _refuse_with(ctx, "report_only", [p.name for p in ctx.command.params if p.name != "report_only"])
        for path in context.bench_report(report_only):
            click.echo(f"wrote {path}")
        return
    if ctx.params["smoke"]:
        _refuse_with(ctx, "smoke", ["ladder", "step_seconds", "history"])
    from warehouse.bench.report import summary_lines

    result = context.bench(_bench_config(ctx))
    for line in summary_lines(result):
        click.echo(line)
    click.echo(f"results in {context.project_dir / output_dir}/results.md (and results.json, freshness.png)")


def _refuse_with(ctx: click.Context, option: str, others: list[str]) -> None:
    """A UsageError naming the first of `others` given on the command line together with `option`."""
    flags = {p.name: p.opts[0] for p in ctx.command.params if p.name}
    for other in others:
        if _explicit(ctx, other):
            raise click.UsageError(f"{flags[option]} cannot be combined with {flags[other]}", ctx)


def _explicit(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _bench_config(ctx: click.Context) -> BenchConfig:
    from pydantic import ValidationError

    from warehouse.bench.config import BenchConfig

    given = ctx.params
    chosen: dict[str, object] = {"seed": given["seed"], "output_dir": given["output_dir"]}
    if not given["smoke"] or _explicit(ctx, "contenders"):
        chosen["contenders"] = given["contenders"]
    if not given["smoke"]:
        chosen |= {"ladder": given["ladder"], "step_seconds": given["step_seconds"], "history_orders": given["history"]}
    base = BenchConfig.smoke(given["output_dir"]).model_dump() if given["smoke"] else {}
    try:
        return BenchConfig.model_validate({**base, **chosen})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise click.UsageError(problems, ctx) from exc


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print the lineage tree as JSON (for tools).")
@click.pass_obj
def lineage(context: Context, target: str, as_json: bool) -> None:
    """Trace MODEL.COLUMN through every layer down to the source columns."""
    from warehouse.lineage import render_tree, to_json

    node = context.lineage(target)
    click.echo(json.dumps(to_json(node), indent=2) if as_json else render_tree(node))


@cli.group()
def docs() -> None:
    """dbt's docs site, with column-level lineage and each model's Flink job."""


@docs.command(name="generate")
@click.pass_obj
def docs_generate(context: Context) -> None:
    """Write the docs site under target/."""
    click.echo(f"docs site written to {context.docs()}; `warehouse docs serve` shows it")


@docs.command(name="serve")
@click.option("--port", default=8580, show_default=True)
@click.pass_obj
def docs_serve(context: Context, port: int) -> None:
    """Serve the docs site on http://127.0.0.1:PORT until Ctrl-C."""
    click.echo(f"serving http://127.0.0.1:{port} (Ctrl-C to stop)")
    context.serve_docs(port)


@cli.command()
@SELECT_OPTION
@click.pass_obj
def stop(context: Context, select: str | None) -> None:
    """Stop the selected models' jobs with a savepoint (downstream first)."""
    _print_actions(context.stop(select))


@cli.command()
@SELECT_OPTION
@click.pass_obj
def resume(context: Context, select: str | None) -> None:
    """Restart jobs that are not running, as they were, from their savepoint or latest checkpoint (upstream first)."""
    _print_actions(context.resume(select))


@cli.command()
@click.pass_obj
def status(context: Context) -> None:
    """Per job (and the models it runs): state, uptime, records in/out, last checkpoint, input lag, rows kept
    aside, restarts.

    Exit code 1 when a job is not running (stopped, parked, failed, gone)."""
    rows = context.status()
    click.echo(
        f"{'job':<22} {'state':<11} {'uptime':>8} {'in':>9} {'out':>9} {'checkpoint':>11} {'slot lag':>9} "
        f"{'rejected':>8} {'late':>6} {'restarts':>8}  job"
    )
    for row in rows:
        click.secho(
            f"{row.job:<22} {row.state:<11} {_seconds(row.uptime_s):>8} {_count(row.records_in):>9} "
            f"{_count(row.records_out):>9} {_seconds(row.checkpoint_age_s, ' ago'):>11} {_bytes(row.lag_bytes):>9} "
            f"{row.rejected:>8} {row.late:>6} {row.restarts:>8}  {row.job_id or '-'}",
            fg=None if row.running else "red",
        )
        if row.models and list(row.models) != [row.job]:
            click.echo(f"    models: {', '.join(row.models)}")
        if row.late_dropped:
            click.echo(f"    {row.late_dropped:,} late row(s) dropped by a window since the job started")
        if row.note:
            click.echo(f"    {row.note}")
        if row.problem:
            click.echo(f"    {row.problem}")
    if not rows:
        click.echo("no jobs have run yet: `warehouse run`")
    if any(row.rejected or row.late for row in rows):
        click.echo("rows kept aside: _warehouse.rejected_rows (could not be written), _warehouse.late_rows (late)")
    if any(not row.running for row in rows):
        sys.exit(1)


@cli.command()
@click.pass_obj
def catalog(context: Context) -> None:
    """List the catalog's tables: orientation, binlog, primary key, rows."""
    click.echo(f"{'table':<26} {'orientation':<11} {'binlog':<10} {'primary key':<20} {'rows':>8}  model")
    for entry in context.catalog():
        rows = str(entry.rows) if entry.exists else "(missing)"
        key = ",".join(entry.primary_key)
        click.echo(f"{entry.table:<26} {entry.orientation:<11} {entry.binlog:<10} {key:<20} {rows:>8}  {entry.model}")


@cli.command()
@click.option(
    "--orders", default=20_000, show_default=True, help="Orders to generate (plus payments, updates, deletes)."
)
@click.option(
    "--rate", default=2_000.0, show_default=True, help="Changes per second fed to the OLTP tables (0 = full speed)."
)
@click.option("--seed", default=42, show_default=True, help="Seed of the generator (same seed, same workload).")
@click.option(
    "--source",
    type=click.Choice(["postgres", "mysql"]),
    default="postgres",
    show_default=True,
    help="Where the shop's OLTP tables live: the store's `shop` database, or a MySQL `shop` database mirrored "
    "whole into ODS by `sync:` (MariaDB is started for it).",
)
@click.pass_obj
def demo(context: Context, orders: int, rate: float, seed: int, source: str) -> None:
    """The e-commerce demo: fresh OLTP tables in `shop`, every layer's job started, live load, ADS shown live."""
    fed = context.demo(orders, rate or None, seed, source)
    click.echo(f"fed {fed:,} changes; the jobs keep running: `warehouse status`, `warehouse catalog`")


@cli.command()
@click.argument("model")
@click.option("--batch", "mode", flag_value="batch", default=True, help="The table as it is now (default).")
@click.option("--stream", "mode", flag_value="stream", help="The table's live change stream.")
@click.option("--columns", "-c", default=None, help="Comma-separated columns (batch).")
@click.option("--where", "-w", default=None, help='Filter, e.g. "shop_id = 3 AND gmv > 100" (batch).')
@click.option("--order-by", "-o", multiple=True, help="`column` or `column desc`; repeatable (batch).")
@click.option(
    "--limit", "-n", type=int, default=None, help="Rows (batch, default 100 for the terminal) or changes (stream)."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write to a file.")
@click.option("--snapshot", is_flag=True, help="Stream: the current rows first (as inserts), then the changes.")
@click.option("--timeout", type=float, default=None, help="Stream: stop after this many seconds.")
@click.pass_obj
def explore(
    context: Context,
    model: str,
    mode: str,
    columns: str | None,
    where: str | None,
    order_by: tuple[str, ...],
    limit: int | None,
    fmt: str,
    output: Path | None,
    snapshot: bool,
    timeout: float | None,
) -> None:
    """Look at any layer: a batch snapshot from the store, or the live change stream (Ctrl-C to stop)."""
    if mode == "stream":
        _explore_stream(context, model, snapshot, limit, timeout, fmt)
        return
    if limit is None and fmt == "table" and output is None:
        limit = 100
    chosen = [c.strip() for c in columns.split(",")] if columns else None
    table = context.explore_batch(model, chosen, where, list(order_by), limit)
    write_batch(table, fmt, sys.stdout, sys.stdout.buffer if output is None else None, output)


def _explore_stream(
    context: Context, model: str, snapshot: bool, limit: int | None, timeout: float | None, fmt: str
) -> None:
    if fmt not in ("table", "jsonl"):
        raise click.UsageError("--stream writes `table` (one line per change) or `jsonl`")
    from warehouse.explore.binlog import METADATA

    columns = [*METADATA, *context.table_of(model).column_names()]
    try:
        for change in context.explore_stream(model, snapshot, limit, timeout):
            record = change.record()
            click.echo(json_line(record) if fmt == "jsonl" else change_line(record, columns))
    except KeyboardInterrupt:
        click.echo("stopped (the temporary replication slot is gone with the session)", err=True)


@cli.command()
@click.argument("statement")
@click.option("--batch", "mode", flag_value="batch", default=True, help="A bounded query over the tables as they are.")
@click.option("--stream", "mode", flag_value="stream", help="A continuous query over a table's binlog, with row kinds.")
@click.option("--limit", "-n", type=int, default=1000, show_default=True, help="Stop after this many result rows.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Stop after this many seconds.")
@click.option("--format", "fmt", type=click.Choice(["table", "jsonl"]), default="table", show_default=True)
@click.pass_obj
def sql(context: Context, statement: str, mode: str, limit: int, timeout: float, fmt: str) -> None:
    """Ad-hoc Flink SQL through the SQL Gateway; model names resolve to catalog tables. Read-only."""
    result = context.sql(statement, stream=mode == "stream", limit=limit, timeout=timeout)
    names = [column.name for column in result.columns]
    records = [
        {"op": ROW_KINDS.get(row.kind, row.kind), **dict(zip(names, row.fields, strict=True))} for row in result.rows
    ]
    columns = ["op", *names] if mode == "stream" else names
    if fmt == "jsonl":
        for record in records:
            click.echo(json_line({c: record[c] for c in columns}))
    else:
        for line in terminal_table(columns, records):
            click.echo(line)
    if not result.complete:
        click.echo(f"(stopped at --limit {limit} rows or --timeout {timeout:.0f}s)", err=True)


ROW_KINDS = {"INSERT": "+I", "UPDATE_BEFORE": "-U", "UPDATE_AFTER": "+U", "DELETE": "-D"}


def _seconds(value: float | None, suffix: str = "") -> str:
    if value is None:
        return "-"
    if value < 120:
        return f"{value:.0f}s{suffix}"
    return f"{value / 60:.0f}m{suffix}" if value < 7200 else f"{value / 3600:.1f}h{suffix}"


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _bytes(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1024:.0f} kB" if value < 1 << 20 else f"{value / (1 << 20):.1f} MB"


def main() -> None:
    cli(prog_name="warehouse")


if __name__ == "__main__":
    main()
