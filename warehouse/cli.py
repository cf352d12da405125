"""The `warehouse` command. Each command is a thin wrapper over one `Context` method."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from warehouse.context import Context
from warehouse.errors import WarehouseError


class WarehouseGroup(click.Group):
    """Turns WarehouseError into one red line and exit code 2, instead of a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except WarehouseError as exc:
            click.secho(f"error: {exc.one_line()}", fg="red", err=True)
            sys.exit(2)


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
@click.pass_context
def cli(ctx: click.Context, project_dir: Path, target: str | None, profiles_dir: Path | None) -> None:
    """A dbt-style streaming warehouse: ODS -> DWD -> DWS -> ADS as continuous Flink jobs."""
    ctx.obj = Context(project_dir, target=target, profiles_dir=profiles_dir)


@cli.command()
@click.pass_obj
def up(context: Context) -> None:
    """Start the embedded stack (PostgreSQL, Flink JobManager/TaskManager, SQL Gateway). Idempotent."""
    states = context.up()
    if not states:
        click.echo("remote profile: nothing to start (run `warehouse doctor` to check the services)")
    for state in states:
        click.echo(f"{state.name:<12} {'running' if state.running else 'STOPPED':<8} {state.detail}")


@cli.command()
@click.pass_obj
def down(context: Context) -> None:
    """Stop what `warehouse up` started and drop the warehouse's replication slots."""
    stopped = context.down()
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


def main() -> None:
    cli(prog_name="warehouse")
