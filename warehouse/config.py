"""Connection profiles: where the store and Flink are, and how jobs run.

A `profiles.yml` holds named targets; `target:` picks the default one. Environment variables
override it: `WAREHOUSE_TARGET` picks the target and `WAREHOUSE__<KEY>__<SUBKEY>=value` overrides a
key of it (values are read as YAML scalars). The string `embedded` for `store` or `flink` means
"the local stack that `warehouse up` starts"; everything else uses the same code path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import jinja2
import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from warehouse.errors import ConfigError
from warehouse.secrets import (
    MYSQL_PASSWORD,
    MYSQL_USER,
    READER_PASSWORD,
    READER_USER,
    STORE_PASSWORD,
    read_secret,
)

PROFILES_FILE = "profiles.yml"
ENV_PREFIX = "WAREHOUSE__"
DURATION = r"^\d+\s*(ms|s|min|h)$"
MILLISECONDS = {"ms": 1, "s": 1_000, "min": 60_000, "h": 3_600_000}
MEMORY = r"^\d+\s*(m|mb|g|gb)$"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Login(StrictModel):
    """A user of the store and its password."""

    user: str
    password: SecretStr = SecretStr("")


class StoreConnection(StrictModel):
    """A PostgreSQL (or PostgreSQL-wire) server holding the catalog tables and the job registry.

    `reader`: a login that may only read (SELECT on the layers, REPLICATION for binlog streams), used by
    `warehouse sql` and `explore`; the embedded store creates one. Without it they run as `user`."""

    host: str = "127.0.0.1"
    port: int = Field(5432, ge=1, le=65535)
    database: str = "warehouse"
    user: str = "postgres"
    password: SecretStr = SecretStr("")
    reader: Login | None = None
    _embedded: bool = PrivateAttr(default=False)  # set by Profile.store_connection, for the hint below

    def unreachable_hint(self) -> str:
        if self._embedded:
            return "start the embedded stack with `warehouse up`"
        where = f"{self.host}:{self.port} (store in profiles.yml)"
        return f"check that PostgreSQL answers at {where}; `warehouse doctor` checks them all"

    def as_reader(self) -> StoreConnection:
        """The same server as its read-only login (itself when none is configured)."""
        if self.reader is None:
            return self
        return self.model_copy(update={"user": self.reader.user, "password": self.reader.password, "reader": None})

    def passwords(self) -> dict[str, str]:
        """Every login's password by user: what a job's `${password:<user>}` references resolve to."""
        logins = [Login(user=self.user, password=self.password), *([self.reader] if self.reader else [])]
        return {login.user: login.password.get_secret_value() for login in logins}


class FlinkEndpoints(StrictModel):
    """A Flink session cluster: its SQL Gateway and its JobManager REST API."""

    gateway_url: str = Field(pattern=r"^https?://")
    rest_url: str = Field(pattern=r"^https?://")


class MySqlConnection(StrictModel):
    """The MySQL-compatible server of the project's MySQL sources: binlog on, `binlog_format=ROW`, and a user
    with SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE and REPLICATION CLIENT (README "MySQL sources").

    `server_time_zone`: the zone the server reads `timestamp` columns in (Debezium needs it)."""

    host: str = "127.0.0.1"
    port: int = Field(3306, ge=1, le=65535)
    user: str = MYSQL_USER
    password: SecretStr = SecretStr("")
    server_time_zone: str = "UTC"

    def passwords(self) -> dict[str, str]:
        """Its password under the key a job's `${password:mysql:<user>}` reference names."""
        return {mysql_login(self.user): self.password.get_secret_value()}


def mysql_login(user: str) -> str:
    """How a job's DDL names a MySQL user's password: apart from the store's users of the same name."""
    return f"mysql:{user}"


class EmbeddedSettings(StrictModel):
    """Ports and sizes of the local stack that `warehouse up` starts."""

    postgres_port: int = Field(54329, ge=1, le=65535)
    mysql_port: int = Field(33069, ge=1, le=65535)
    rest_port: int = Field(18081, ge=1, le=65535)
    gateway_port: int = Field(18083, ge=1, le=65535)
    rpc_port: int = Field(16123, ge=1, le=65535)
    task_slots: int = Field(24, ge=1)
    taskmanagers: int = Field(1, ge=1, le=8)
    taskmanager_memory: str = Field("2560m", pattern=MEMORY)
    jobmanager_memory: str = Field("1024m", pattern=MEMORY)


class JobTuning(StrictModel):
    """How every continuous job trades CPU for freshness (see BENCHMARKS.md, Findings 1).

    Each hop of a layered warehouse waits for its CDC reader's poll, its sink's flush and Flink's
    network buffer. A reader sleeps its poll interval only when its slot had nothing new, so under load the
    poll costs no freshness, and while idle each reader wakes 1000/interval times a second: 200 ms keeps the
    idle example near 0.15 core (50 ms: 0.28, BENCHMARKS.md "Idle cost").
    """

    cdc_poll_interval: str = Field("200ms", pattern=DURATION)
    sink_flush_interval: str = Field("100ms", pattern=DURATION)
    sink_flush_max_rows: int = Field(2000, ge=1)
    buffer_timeout: str = Field("10ms", pattern=DURATION)


Embedded = Literal["embedded"]


class Profile(StrictModel):
    """One target of `profiles.yml`."""

    store: Annotated[Embedded | StoreConnection, Field(union_mode="left_to_right")] = "embedded"
    flink: Annotated[Embedded | FlinkEndpoints, Field(union_mode="left_to_right")] = "embedded"
    mysql: Annotated[Embedded | MySqlConnection, Field(union_mode="left_to_right")] = "embedded"
    parallelism: int = Field(1, ge=1)
    checkpoint_interval: str = Field("10s", pattern=DURATION)
    jobs: JobTuning = JobTuning()
    home: Path = Path(".warehouse")
    state_dir: str | None = None  # default: <home>/checkpoints
    savepoint_dir: str | None = None  # default: <home>/savepoints
    jar_cache: Path = Path("~/.cache/warehouse")
    maven_repository: str = Field("https://repo1.maven.org/maven2", pattern=r"^(https?|file)://")
    embedded: EmbeddedSettings = EmbeddedSettings()

    @property
    def store_is_embedded(self) -> bool:
        return self.store == "embedded"

    @property
    def flink_is_embedded(self) -> bool:
        return self.flink == "embedded"

    def store_connection(self) -> StoreConnection:
        """The store as the warehouse reaches it; the embedded one with the passwords `up` generated."""
        if isinstance(self.store, StoreConnection):
            return self.store
        reader = Login(user=READER_USER, password=SecretStr(read_secret(self.home, READER_PASSWORD)))
        password = SecretStr(read_secret(self.home, STORE_PASSWORD))
        store = StoreConnection(port=self.embedded.postgres_port, password=password, reader=reader)
        store._embedded = True
        return store

    @property
    def mysql_is_embedded(self) -> bool:
        return self.mysql == "embedded"

    def mysql_connection(self) -> MySqlConnection:
        """The MySQL server of the project's MySQL sources; the embedded one with the password `up` generated."""
        if isinstance(self.mysql, MySqlConnection):
            return self.mysql
        password = SecretStr(read_secret(self.home, MYSQL_PASSWORD))
        return MySqlConnection(port=self.embedded.mysql_port, password=password)

    def passwords(self) -> dict[str, str]:
        """Every password a job may reference: the store's logins and the MySQL sources' user."""
        return {**self.store_connection().passwords(), **self.mysql_connection().passwords()}

    def unreachable_hint(self, key: str) -> str:
        """How to fix an unreachable Flink service (`key`: rest_url or gateway_url) of this profile."""
        if self.flink_is_embedded:
            return "start the embedded stack with `warehouse up`"
        url = getattr(self.flink_endpoints(), key)
        return f"check that Flink answers at {url} (flink.{key} in profiles.yml); `warehouse doctor` checks them all"

    def flink_endpoints(self) -> FlinkEndpoints:
        if isinstance(self.flink, FlinkEndpoints):
            return self.flink
        return FlinkEndpoints(
            gateway_url=f"http://127.0.0.1:{self.embedded.gateway_port}",
            rest_url=f"http://127.0.0.1:{self.embedded.rest_port}",
        )


class ProfilesFile(StrictModel):
    target: str = "dev"
    targets: dict[str, Profile] = Field(default_factory=lambda: {"dev": Profile()})


class Settings(StrictModel):
    """A resolved profile: the chosen target with every path made absolute."""

    project_dir: Path
    target: str
    profile: Profile

    @property
    def home(self) -> Path:
        return self.profile.home

    def uri(self, location: str) -> str:
        """A state/savepoint location as Flink wants it: a URI, local paths made absolute."""
        if "://" in location:
            return location
        return (self.project_dir / location).resolve().as_uri()

    @property
    def state_uri(self) -> str:
        """Where jobs keep their checkpoints: `state_dir`, by default the stack's home (shared by the projects
        that share a home, so each finds the others' retained checkpoints)."""
        return self.uri(self.profile.state_dir) if self.profile.state_dir else (self.home / "checkpoints").as_uri()

    @property
    def savepoint_uri(self) -> str:
        return (
            self.uri(self.profile.savepoint_dir) if self.profile.savepoint_dir else (self.home / "savepoints").as_uri()
        )


def job_runtime_settings(profile: Profile, state_uri: str) -> dict[str, str]:
    """What every job is told on submission, so that any cluster, embedded or remote, runs it the same way:
    checkpoints (which move the CDC slots), retained when a job fails or is cancelled (to resume from), a
    restart strategy that outlasts a TaskManager or database restart, the profile's parallelism, and idle
    source subtasks that do not hold the watermark back."""
    return {
        "execution.checkpointing.interval": f"{milliseconds(profile.checkpoint_interval)} ms",
        "execution.checkpointing.min-pause": "1 s",
        "execution.checkpointing.externalized-checkpoint-retention": "RETAIN_ON_CANCELLATION",
        "state.checkpoints.dir": state_uri,
        "restart-strategy.type": "exponential-delay",
        "restart-strategy.exponential-delay.initial-backoff": "1 s",
        "restart-strategy.exponential-delay.max-backoff": "30 s",
        "parallelism.default": str(profile.parallelism),
        # TIMESTAMP_LTZ (timestamptz sources, PROCTIME) cast to TIMESTAMP is UTC wall time on every machine.
        "table.local-time-zone": "UTC",
        # A CDC source reads the log with one subtask: the others would hold every watermark back forever.
        "table.exec.source.idle-timeout": "2 s",
    }


def milliseconds(duration: str) -> int:
    """A profile duration (`50ms`, `5s`, `1min`, `2h`) in milliseconds."""
    match = re.fullmatch(r"(\d+)\s*(ms|s|min|h)", duration.strip())
    if match is None:
        raise ValueError(f"not a duration: {duration!r} (expected e.g. 50ms, 5s, 1min)")
    return int(match.group(1)) * MILLISECONDS[match.group(2)]


def load_settings(
    project_dir: Path,
    target: str | None = None,
    profiles_dir: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    environ = os.environ if environ is None else environ
    profiles_path = _profiles_path(project_dir, profiles_dir, environ)
    raw = _read_profiles(profiles_path, environ)
    chosen = target or environ.get("WAREHOUSE_TARGET") or raw.get("target") or "dev"
    raw = _with_overrides(raw, chosen, environ)
    parsed = _validate(raw, profiles_path, _override_keys(chosen, environ))
    if chosen not in parsed.targets:
        raise ConfigError(
            f"target '{chosen}' is not defined",
            where=str(profiles_path),
            hint=f"use one of: {', '.join(sorted(parsed.targets))}",
        )
    profile = _absolute_paths(parsed.targets[chosen], project_dir)
    return Settings(project_dir=project_dir.resolve(), target=chosen, profile=profile)


def _profiles_path(project_dir: Path, profiles_dir: Path | None, environ: Mapping[str, str]) -> Path:
    folder = profiles_dir or environ.get("WAREHOUSE_PROFILES_DIR") or project_dir
    return Path(folder) / PROFILES_FILE


def _read_profiles(path: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        rendered = _render_env_vars(path.read_text(), environ)
        data = yaml.safe_load(rendered) or {}
    except (yaml.YAMLError, jinja2.TemplateError) as exc:
        raise ConfigError(f"cannot parse: {str(exc).splitlines()[0]}", where=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with 'target' and 'targets'", where=str(path))
    return data


def _render_env_vars(text: str, environ: Mapping[str, str]) -> str:
    """dbt-style `{{ env_var('NAME', 'default') }}` in profiles.yml."""

    def env_var(name: str, default: str | None = None) -> str:
        if name in environ:
            return environ[name]
        if default is None:
            raise ConfigError(f"environment variable {name} is not set", hint=f"export {name}=...")
        return default

    template = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(text)
    return template.render(env_var=env_var)


def _with_overrides(raw: dict[str, Any], target: str, environ: Mapping[str, str]) -> dict[str, Any]:
    overrides = {k: v for k, v in environ.items() if k.startswith(ENV_PREFIX)}
    if not overrides:
        return raw
    targets = dict(raw.get("targets") or {"dev": {}})
    node = dict(targets.get(target) or {})
    for name, value in sorted(overrides.items()):
        keys = [part.lower() for part in name[len(ENV_PREFIX) :].split("__")]
        node = _set_nested(node, keys, yaml.safe_load(value))
    targets[target] = node
    return {**raw, "targets": targets}


def _set_nested(node: dict[str, Any], keys: list[str], value: Any) -> dict[str, Any]:
    if len(keys) == 1:
        return {**node, keys[0]: value}
    child = node.get(keys[0])
    child = dict(child) if isinstance(child, dict) else {}
    return {**node, keys[0]: _set_nested(child, keys[1:], value)}


def _override_keys(target: str, environ: Mapping[str, str]) -> dict[str, str]:
    """The profile keys (`targets.<target>.a.b`) that WAREHOUSE__A__B variables set, with the variable's name."""
    return {
        ".".join(["targets", target, *(part.lower() for part in name[len(ENV_PREFIX) :].split("__"))]): name
        for name in environ
        if name.startswith(ENV_PREFIX)
    }


def _validate(raw: dict[str, Any], path: Path, overrides: Mapping[str, str]) -> ProfilesFile:
    """The parsed profiles; a problem is blamed on profiles.yml, or on the WAREHOUSE__ variable that set the key."""
    try:
        return ProfilesFile.model_validate(raw)
    except ValidationError as exc:
        key = _problem_key(exc)
        variable = next((name for set_key, name in overrides.items() if f"{key}.".startswith(f"{set_key}.")), None)
        if variable is not None:
            where, hint = f"environment variable {variable}", f"correct or unset {variable}"
            raise ConfigError(_describe(exc), where=where, hint=hint) from None
        raise ConfigError(_describe(exc), where=str(path), hint=_fix_for(exc)) from None


def _problem_key(exc: ValidationError) -> str:
    error = max(exc.errors(), key=lambda e: len(_user_keys(e["loc"])))
    return ".".join(_user_keys(error["loc"])) or "(top level)"


def _describe(exc: ValidationError) -> str:
    """The most specific problem, as `key.path: message` on one line."""
    error = max(exc.errors(), key=lambda e: len(_user_keys(e["loc"])))
    return f"{_problem_key(exc)}: {error['msg']}"


def _fix_for(exc: ValidationError) -> str:
    error = max(exc.errors(), key=lambda e: len(_user_keys(e["loc"])))
    if error["type"] == "extra_forbidden":
        return "remove or rename the key; see README 'Profiles' for the valid keys"
    return "correct the value; see README 'Profiles'"


def _user_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Drop pydantic's union-branch tags (e.g. `StoreConnection`, `literal['embedded']`)."""
    return [str(part) for part in loc if not (isinstance(part, str) and (part[:1].isupper() or "[" in part))]


def _absolute_paths(profile: Profile, project_dir: Path) -> Profile:
    def absolute(path: Path) -> Path:
        path = path.expanduser()
        return path if path.is_absolute() else (project_dir / path).resolve()

    return profile.model_copy(update={"home": absolute(profile.home), "jar_cache": absolute(profile.jar_cache)})
