"""`warehouse bench` options: how they become a BenchConfig, which ones conflict, rebuilding a report offline."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.test_bench import small_result
from warehouse.bench.config import BenchConfig
from warehouse.bench.report import summary_lines
from warehouse.bench.results import BenchResult
from warehouse.cli import cli
from warehouse.context import Context


@pytest.fixture
def configs(monkeypatch: pytest.MonkeyPatch) -> list[BenchConfig]:
    """The configs `warehouse bench` hands to Context.bench, which runs nothing here."""
    seen: list[BenchConfig] = []

    def bench(self: Context, config: BenchConfig) -> BenchResult:
        seen.append(config)
        return small_result()

    monkeypatch.setattr(Context, "bench", bench)
    return seen


def run(project: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--project-dir", str(project), "bench", *args])
    return result.exit_code, result.output


def test_options_become_the_bench_config_and_the_summary_is_printed(tmp_path: Path, configs: list[BenchConfig]) -> None:
    code, output = run(
        tmp_path,
        *("--ladder", "100,200", "--step-seconds", "5", "--history", "1000", "--seed", "7"),
        *("--contenders", "p0, p2", "--output-dir", "out"),
    )
    assert code == 0, output
    [config] = configs
    assert (config.ladder, config.step_seconds, config.history_orders, config.seed) == ((100, 200), 5, 1000, 7)
    assert (config.contenders, config.output_dir) == (("p0", "p2"), Path("out"))
    assert "summary at 10 orders/s" in output and "p0   sustained      20 orders/s  dwd 0.50/0.50  dws n/a" in output
    assert f"results in {tmp_path.resolve() / 'out'}/results.md" in output


def test_without_options_the_config_is_the_default(tmp_path: Path, configs: list[BenchConfig]) -> None:
    assert run(tmp_path)[0] == 0
    assert configs == [BenchConfig()]


def test_smoke_is_the_test_suites_config_with_the_chosen_contenders_and_seed(
    tmp_path: Path, configs: list[BenchConfig]
) -> None:
    assert run(tmp_path, "--smoke")[0] == 0
    assert run(tmp_path, "--smoke", "--contenders", "p1", "--seed", "3", "--output-dir", "o")[0] == 0
    smoke = BenchConfig.smoke(Path("target/bench"))
    assert configs == [smoke, BenchConfig.smoke(Path("o"), ("p1",)).model_copy(update={"seed": 3})]


@pytest.mark.parametrize(("option", "value"), [("--ladder", "100"), ("--step-seconds", "1"), ("--history", "0")])
def test_smoke_refuses_the_options_it_sets(tmp_path: Path, configs: list[BenchConfig], option: str, value: str) -> None:
    code, output = run(tmp_path, "--smoke", option, value)
    assert code == 2
    assert f"--smoke cannot be combined with {option}" in output
    assert configs == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--ladder", "100,fast"], "'100,fast' is not a comma-separated list of orders/s"),
        (["--ladder", "200,100"], "strictly increasing"),
        (["--contenders", "p0,p9"], "unknown contender(s) 'p9'"),
        (["--contenders", "p0,p0"], "name each contender once"),
        (["--history", "-1"], "--history"),
    ],
)
def test_invalid_settings_are_usage_errors(
    tmp_path: Path, configs: list[BenchConfig], args: list[str], message: str
) -> None:
    code, output = run(tmp_path, *args)
    assert code == 2 and message in output, output
    assert configs == []


def test_report_only_without_results_json_fails_with_a_hint(tmp_path: Path, configs: list[BenchConfig]) -> None:
    code, output = run(tmp_path, "--report-only", "nothing-here")
    assert code == 2
    [line] = [line for line in output.splitlines() if line.startswith("error:")]
    assert f"no results.json in {tmp_path.resolve() / 'nothing-here'}" in line and "(fix: " in line
    assert configs == []


def test_report_only_refuses_run_options(tmp_path: Path, configs: list[BenchConfig]) -> None:
    code, output = run(tmp_path, "--report-only", "out", "--smoke")
    assert code == 2 and "--report-only cannot be combined with --smoke" in output


@pytest.mark.filterwarnings("ignore:No artists with labels")  # the plot of a result without series
def test_report_only_rewrites_the_report_without_any_service(
    tmp_path: Path, configs: list[BenchConfig], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "out"  # no profiles.yml either: the profile is never read
    folder.mkdir()
    (folder / "results.json").write_text(small_result().model_dump_json())

    def no_network(*args: object) -> None:
        raise AssertionError("--report-only connected to a service")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    code, output = run(tmp_path, "--report-only", "out")
    assert code == 0, output
    assert f"wrote {folder.resolve() / 'results.md'}" in output
    assert "## Summary" in (folder / "results.md").read_text()
    assert configs == []


def test_report_only_rejects_a_results_json_of_another_shape(tmp_path: Path) -> None:
    (tmp_path / "results.json").write_text('{"contenders": []}')
    code, output = run(tmp_path, "--report-only", str(tmp_path))
    assert code == 2 and "is not a `warehouse bench` result" in output


def test_summary_has_a_line_per_contender_at_the_reference_rate() -> None:
    lines = summary_lines(small_result())
    assert lines[0].startswith("summary at 10 orders/s")
    assert lines[1:] == [
        "  p0   sustained      20 orders/s  dwd 0.50/0.50  dws n/a",
        "  p2   sustained      10 orders/s  dwd 12.00/12.00  dws n/a",
    ]
