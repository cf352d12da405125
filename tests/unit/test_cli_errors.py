"""Errors a user hits before any service runs: one line, naming the key / port / tool, exit code 2."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from warehouse.cli import cli


def run(project: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), *args], env=env)
    return result.exit_code, result.output


def error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


def test_wrong_profile_key(tmp_path: Path) -> None:
    (tmp_path / "profiles.yml").write_text(
        "targets:\n  dev:\n    flink: {gateway_url: 'http://x', rest_ur: 'http://y'}\n"
    )
    code, output = run(tmp_path, "doctor")
    assert code == 2
    assert "targets.dev.flink.rest_ur" in error_line(output)


def test_missing_java(project: Path, tmp_path: Path) -> None:
    code, output = run(project, "up", env={"JAVA_HOME": str(tmp_path / "no-jdk")})
    assert code == 2
    line = error_line(output)
    assert "JAVA_HOME" in line and "no bin/java" in line


def test_port_already_taken(project: Path) -> None:
    profile = yaml.safe_load((project / "profiles.yml").read_text())
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        profile["targets"]["test"]["embedded"]["postgres_port"] = port
        (project / "profiles.yml").write_text(yaml.safe_dump(profile))
        code, output = run(project, "up")
    assert code == 2
    line = error_line(output)
    assert f"port {port} (PostgreSQL) is already in use" in line
    assert "embedded.postgres_port" in line


@pytest.mark.parametrize("command", ["doctor"])
def test_unreachable_services_fail_doctor_with_fixes(project: Path, command: str) -> None:
    code, output = run(project, command)
    assert code == 1
    assert "FAIL postgres" in output and "warehouse up" in output
    assert "FAIL jobmanager" in output and "FAIL sql-gateway" in output


def remote_profile(project: Path) -> tuple[int, int, int]:
    """A profiles.yml whose target `dev` names a remote store and Flink on free (unanswered) ports; the ports."""
    from tests.helpers import free_port

    pg_port, rest_port, gateway_port = free_port(), free_port(), free_port()
    profile = {
        "store": {"host": "127.0.0.1", "port": pg_port},
        "flink": {"gateway_url": f"http://127.0.0.1:{gateway_port}", "rest_url": f"http://127.0.0.1:{rest_port}"},
    }
    (project / "profiles.yml").write_text(yaml.safe_dump({"targets": {"dev": profile}}))
    return pg_port, rest_port, gateway_port


def test_remote_profile_up_starts_nothing_and_doctor_checks_the_remote_services(tmp_path: Path) -> None:
    pg_port, rest_port, gateway_port = remote_profile(tmp_path)
    code, output = run(tmp_path, "up")
    assert code == 0 and "remote profile: nothing to start" in output
    assert not (tmp_path / ".warehouse").exists()
    code, output = run(tmp_path, "doctor")
    assert code == 1
    assert (
        f"127.0.0.1:{pg_port}" in output
        and f"127.0.0.1:{rest_port}" in output
        and f"127.0.0.1:{gateway_port}" in output
    )
    assert "java" not in output  # nothing local to check


def test_a_broken_dbt_project_yml_names_the_file_and_line(project: Path) -> None:
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n  version: [\n")
    code, output = run(project, "compile")
    assert code == 2
    line = error_line(output)
    assert f"{project / 'dbt_project.yml'}:3: not valid YAML" in line and "Traceback" not in output


def test_debug_adds_the_traceback_to_the_one_line(project: Path) -> None:
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n  version: [\n")
    code, output = run(project, "--debug", "compile")
    assert code == 2
    assert "Traceback" in output and "not valid YAML" in error_line(output)


def test_an_unexpected_error_is_one_line_naming_its_type(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from warehouse.context import Context

    def broken(self: Context, selector: str | None = None) -> None:
        raise KeyError("alias")

    monkeypatch.setattr(Context, "compile", broken)
    code, output = run(project, "compile")
    assert code == 1 and "Traceback" not in output
    assert (
        error_line(output)
        == "error: unexpected KeyError: 'alias' (please report it; `warehouse --debug ...` shows where)"
    )


def test_a_remote_profiles_unreachable_services_are_not_blamed_on_the_embedded_stack(tmp_path: Path) -> None:
    from warehouse.config import load_settings

    pg_port, rest_port, _ = remote_profile(tmp_path)
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    code, output = run(tmp_path, "status")
    line = error_line(output)
    assert code == 2 and "warehouse up" not in line
    assert f"check that PostgreSQL answers at 127.0.0.1:{pg_port} (store in profiles.yml)" in line
    remote = load_settings(tmp_path, environ={}).profile
    assert remote.unreachable_hint("rest_url").startswith(f"check that Flink answers at http://127.0.0.1:{rest_port}")


def test_an_embedded_profiles_unreachable_store_says_start_the_stack(project: Path) -> None:
    (project / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    code, output = run(project, "status")
    assert code == 2 and "(fix: start the embedded stack with `warehouse up`)" in error_line(output)
