"""`warehouse doctor`: every check the stack needs, each failure with a fix."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from warehouse.artifacts import CONNECTOR_JARS, FLINK_VERSION, cached_jar_paths, sha256_of
from warehouse.config import Settings
from warehouse.embedded.java import find_java
from warehouse.embedded.processes import pid_path, port_open, port_owner, restart_counts, running
from warehouse.errors import WarehouseError
from warehouse.gateway import GatewayClient
from warehouse.jobmanager import JobManagerClient
from warehouse.lifecycle.observe import Observation, RetainedCheckpoints, observe
from warehouse.lifecycle.registry import JobRecord, Registry
from warehouse.store import connect, warehouse_slots

MIN_SLOTS = 10


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(settings: Settings) -> list[Check]:
    profile = settings.profile
    checks: list[Callable[[Settings], list[Check]]] = []
    if profile.flink_is_embedded:
        checks += [_java, _jars]
    if profile.store_is_embedded or profile.flink_is_embedded:
        checks.append(_ports)
    checks += [_postgres, _mysql, _jobmanager, _sql_gateway, _jobs]
    if profile.flink_is_embedded or profile.store_is_embedded:
        checks.append(_supervisor)
    return [check for group in checks for check in _guarded(group, settings)]


def _mysql(settings: Settings) -> list[Check]:
    """The MySQL server of the sources: a remote one, or the embedded one once the stack started it."""
    from warehouse.embedded.mariadb import EmbeddedMariaDB
    from warehouse.mysqlclient import connect_mysql
    from warehouse.sync.introspect import require_privileges, require_row_binlog

    profile = settings.profile
    if profile.mysql_is_embedded and not EmbeddedMariaDB(profile.home, profile.embedded.mysql_port).data_dir.exists():
        return []  # no project on this stack has a MySQL source
    login = profile.mysql_connection()
    with connect_mysql(login) as conn:
        cursor = conn.cursor()
        cursor.execute("SELECT VERSION()")
        version = str((cursor.fetchone() or ["?"])[0])
        require_row_binlog(cursor, f"on {login.host}:{login.port}")
        cursor.execute("SHOW GRANTS")
        require_privileges([str(row[0]) for row in cursor.fetchall()], login.user, f"on {login.host}:{login.port}")
    return [Check("mysql", True, f"{version} at {login.host}:{login.port}: ROW binlog, replication privileges")]


def _guarded(group: Callable[[Settings], list[Check]], settings: Settings) -> list[Check]:
    try:
        return group(settings)
    except WarehouseError as exc:
        name = group.__name__.strip("_").replace("_", "-")
        return [Check(name, False, exc.message, exc.hint or "")]


def _java(settings: Settings) -> list[Check]:
    java = find_java()
    return [Check("java", True, f"Java {java.major} at {java.executable}")]


def _jars(settings: Settings) -> list[Check]:
    expected = {jar.filename: jar.sha256 for jar in CONNECTOR_JARS}
    results = []
    for name, path in cached_jar_paths(settings.profile.jar_cache).items():
        if not path.exists():
            results.append(Check(f"jar {name}", False, f"not cached at {path}", "run `warehouse up` (downloads it)"))
        elif name in expected and sha256_of(path) != expected[name]:
            results.append(
                Check(f"jar {name}", False, f"checksum mismatch at {path}", f"delete {path}; `warehouse up`")
            )
        else:
            results.append(Check(f"jar {name}", True, str(path)))
    return results


def _ports(settings: Settings) -> list[Check]:
    embedded = settings.profile.embedded
    ports = {"postgres_port": ("postgres", embedded.postgres_port)}
    ports |= {"rest_port": ("jobmanager", embedded.rest_port), "gateway_port": ("sql-gateway", embedded.gateway_port)}
    results = []
    for key, (component, port) in ports.items():
        ours = _ours(settings, component)
        busy = port_open("127.0.0.1", port)
        if busy and not ours:
            fix = f"stop {port_owner(port)} or set embedded.{key} in profiles.yml"
            results.append(Check(f"port {port}", False, f"taken by {port_owner(port)}, not by this stack", fix))
        else:
            results.append(Check(f"port {port}", True, f"{component}: {'listening' if busy else 'free'}"))
    return results


def _ours(settings: Settings, component: str) -> bool:
    if component == "postgres":
        return (settings.profile.home / "postgres" / "data" / "postmaster.pid").exists()
    return running(pid_path(settings.profile.home, component)) is not None


def _postgres(settings: Settings) -> list[Check]:
    store = settings.profile.store_connection()
    with connect(store) as conn:
        version = conn.execute("SHOW server_version").fetchone()
        wal_level = conn.execute("SHOW wal_level").fetchone()
        max_slots = conn.execute("SHOW max_replication_slots").fetchone()
        used = conn.execute("SELECT count(*) FROM pg_replication_slots").fetchone()
        idle = [name for name, active in warehouse_slots(conn) if not active]
    assert version and wal_level and max_slots and used
    free = int(max_slots[0]) - int(used[0])
    return [
        Check("postgres", True, f"PostgreSQL {version[0]} at {store.host}:{store.port}/{store.database}"),
        Check(
            "wal_level",
            wal_level[0] == "logical",
            f"wal_level={wal_level[0]}",
            "set wal_level=logical in postgresql.conf and restart the server",
        ),
        Check(
            "replication slots",
            free >= MIN_SLOTS,
            f"{free} of {max_slots[0]} free",
            f"raise max_replication_slots (needs at least {MIN_SLOTS} free) or drop unused slots",
        ),
        Check(
            "idle warehouse slots",
            not idle,
            ", ".join(idle) or "none",
            "idle slots pin WAL: `warehouse run` drops slots of removed models; or drop them by hand",
        ),
    ]


def _jobmanager(settings: Settings) -> list[Check]:
    client = JobManagerClient(settings.profile.flink_endpoints().rest_url, timeout=10)
    overview = client.overview()
    taskmanagers = int(overview.get("taskmanagers", 0))
    free = int(overview.get("slots-available", 0))
    version = str(overview.get("flink-version", "?"))
    return [
        Check("jobmanager", True, f"Flink {version}, {overview.get('jobs-running', 0)} job(s) running"),
        Check(
            "flink version",
            version == FLINK_VERSION,
            version,
            f"the connectors are pinned for Flink {FLINK_VERSION}; use a cluster of that version",
        ),
        Check(
            "taskmanagers",
            taskmanagers > 0,
            f"{taskmanagers} registered, {free} free slot(s)",
            "start a TaskManager (`warehouse up` restarts the embedded one)",
        ),
    ]


def _jobs(settings: Settings) -> list[Check]:
    """Every job the registry knows should be running; each one that is not gets the command that fixes it."""
    profile = settings.profile
    jobmanager = JobManagerClient(profile.flink_endpoints().rest_url, timeout=10)
    checkpoints = RetainedCheckpoints(settings.state_uri)
    records = Registry(profile.store_connection()).all()
    checks = [_job_check(record, observe(record, jobmanager, checkpoints)) for record in records.values()]
    return checks or [Check("jobs", True, "no jobs yet (`warehouse run` starts them)")]


def _job_check(record: JobRecord, observation: Observation) -> Check:
    name = f"job {record.job}"
    if observation.state == "RUNNING":
        return Check(name, True, f"running ({record.job_id})")
    if record.status == "stopped":
        return Check(name, True, "stopped with `warehouse stop`", "`warehouse resume` restarts it")
    detail = f"{observation.state.lower()}: {observation.detail}" if observation.detail else observation.state.lower()
    if observation.restore_point:
        return Check(
            name, False, detail, f"`warehouse up` (or `warehouse run`) resumes it from {observation.restore_point}"
        )
    return Check(name, False, detail, f"`warehouse run -s {record.members[0]}` rebuilds it (nothing to resume from)")


def _supervisor(settings: Settings) -> list[Check]:
    home = settings.profile.home
    process = running(pid_path(home, "supervisor"))
    restarts = ", ".join(f"{name} {count}" for name, count in restart_counts(home).items()) or "none"
    if process is None:
        return [Check("supervisor", False, "not running: a component that dies stays dead", "`warehouse up`")]
    return [Check("supervisor", True, f"pid {process.pid}; restarts since up: {restarts}")]


def _sql_gateway(settings: Settings) -> list[Check]:
    info = GatewayClient(settings.profile.flink_endpoints().gateway_url, timeout=10).info()
    return [Check("sql-gateway", True, f"{info.get('productName', 'Flink')} {info.get('version', '?')}")]
