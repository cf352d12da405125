from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.config import StoreConnection, load_settings, milliseconds
from warehouse.connectors import cdc_options, jdbc_sink_options
from warehouse.context import Context
from warehouse.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "profiles.yml").write_text(text)
    return tmp_path


def test_defaults_without_profiles_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.target == "dev"
    assert settings.profile.store_is_embedded and settings.profile.flink_is_embedded
    assert settings.profile.store_connection().port == 54329
    assert settings.profile.flink_endpoints().gateway_url == "http://127.0.0.1:18083"
    assert settings.profile.home == tmp_path.resolve() / ".warehouse"


def test_remote_target_uses_given_endpoints(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
target: prod
targets:
  prod:
    store: {host: db.internal, port: 5433, database: dw, user: etl, password: s3cret}
    flink: {gateway_url: "http://gw:8083", rest_url: "http://jm:8081"}
""",
    )
    profile = load_settings(tmp_path, environ={}).profile
    assert profile.store_connection().host == "db.internal"
    assert profile.store_connection().password.get_secret_value() == "s3cret"
    assert profile.flink_endpoints().rest_url == "http://jm:8081"
    assert not profile.store_is_embedded


def test_unknown_key_is_named_on_one_line(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    store: {host: x, prot: 5432}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={})
    message = str(caught.value)
    assert "targets.dev.store.prot" in message
    assert "profiles.yml" in message
    assert "\n" not in message


def test_wrong_value_is_named(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    checkpoint_interval: soon\n")
    with pytest.raises(ConfigError, match=r"targets\.dev\.checkpoint_interval"):
        load_settings(tmp_path, environ={})


def test_embedded_is_the_only_string_for_store(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    store: local\n")
    with pytest.raises(ConfigError, match=r"targets\.dev\.store"):
        load_settings(tmp_path, environ={})


def test_environment_overrides_a_nested_key(tmp_path: Path) -> None:
    environ = {"WAREHOUSE__EMBEDDED__REST_PORT": "28081", "WAREHOUSE__PARALLELISM": "2"}
    profile = load_settings(tmp_path, environ=environ).profile
    assert profile.embedded.rest_port == 28081
    assert profile.parallelism == 2


def test_environment_override_of_unknown_key_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"targets\.dev\.embedded\.rest_prot") as caught:
        load_settings(tmp_path, environ={"WAREHOUSE__EMBEDDED__REST_PROT": "1"})
    assert caught.value.where == "environment variable WAREHOUSE__EMBEDDED__REST_PROT"  # not profiles.yml
    assert caught.value.hint == "correct or unset WAREHOUSE__EMBEDDED__REST_PROT"


def test_a_wrong_value_given_by_an_override_blames_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"targets\.dev\.embedded\.rest_port") as caught:
        load_settings(tmp_path, environ={"WAREHOUSE__EMBEDDED__REST_PORT": "not-a-port"})
    assert caught.value.where == "environment variable WAREHOUSE__EMBEDDED__REST_PORT"


def test_a_problem_in_the_file_still_blames_the_file(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    embedded: {rest_prot: 1}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path, environ={"WAREHOUSE__EMBEDDED__REST_PORT": "28081"})
    assert caught.value.where == str(tmp_path / "profiles.yml")


def test_env_var_function_and_target_selection(tmp_path: Path) -> None:
    write(
        tmp_path,
        """
targets:
  dev: {}
  ci:
    store: {host: "{{ env_var('DB_HOST') }}", password: "{{ env_var('DB_PASS', 'none') }}"}
""",
    )
    settings = load_settings(tmp_path, environ={"WAREHOUSE_TARGET": "ci", "DB_HOST": "pg"})
    assert settings.target == "ci"
    assert settings.profile.store_connection().host == "pg"
    assert settings.profile.store_connection().password.get_secret_value() == "none"


def test_missing_env_var_says_which(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    store: {host: \"{{ env_var('NOPE') }}\"}\n")
    with pytest.raises(ConfigError, match="NOPE"):
        load_settings(tmp_path, environ={})


def test_unknown_target_lists_known_ones(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev: {}\n  prod: {}\n")
    with pytest.raises(ConfigError, match="dev, prod"):
        load_settings(tmp_path, target="stage", environ={})


def test_local_state_paths_become_file_uris(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.uri(".warehouse/savepoints") == (tmp_path.resolve() / ".warehouse/savepoints").as_uri()
    assert settings.uri("s3://bucket/sp") == "s3://bucket/sp"


def test_job_tuning_reaches_every_connector_and_job(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    jobs: {cdc_poll_interval: 1s, sink_flush_interval: 250ms}\n")
    tuning = load_settings(tmp_path, environ={"WAREHOUSE__JOBS__BUFFER_TIMEOUT": "0ms"}).profile.jobs
    store = StoreConnection()
    assert cdc_options(store, "db", "s", "t", "slot", "pub", tuning)["debezium.poll.interval.ms"] == "1000"
    sink = jdbc_sink_options(store, "db", "s.t", tuning)
    assert (sink["sink.buffer-flush.interval"], sink["sink.buffer-flush.max-rows"]) == ("250ms", "2000")
    assert milliseconds(tuning.buffer_timeout) == 0


def test_a_bad_job_tuning_value_is_named(tmp_path: Path) -> None:
    write(tmp_path, "targets:\n  dev:\n    jobs: {cdc_poll_interval: fast}\n")
    with pytest.raises(ConfigError, match=r"targets\.dev\.jobs\.cdc_poll_interval"):
        load_settings(tmp_path, environ={})


@pytest.mark.parametrize(("text", "ms"), [("50ms", 50), ("5s", 5_000), ("2 min", 120_000), ("1h", 3_600_000)])
def test_durations_in_milliseconds(text: str, ms: int) -> None:
    assert milliseconds(text) == ms


def test_a_variant_project_runs_on_the_same_profile_home_and_passwords(tmp_path: Path) -> None:
    """The benchmark's P1 is a copy of the example in another folder; it must use the stack of the project it
    was copied from (its home holds the store's passwords), not a home of its own."""
    (tmp_path / "main").mkdir()
    (tmp_path / "variant").mkdir()
    main = Context(tmp_path / "main")
    variant = main.for_project(tmp_path / "variant")
    assert variant.project_dir == (tmp_path / "variant").resolve()
    assert variant.settings.project_dir == variant.project_dir
    assert variant.settings.profile == main.settings.profile
    assert variant.settings.home == main.settings.home == (tmp_path / "main" / ".warehouse").resolve()
