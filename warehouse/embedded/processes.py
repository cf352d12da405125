"""Background processes started by `warehouse up`, tracked by pid files so `down` stops only those."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import psutil

from warehouse.errors import StackError


def pid_path(home: Path, component: str) -> Path:
    return home / "run" / f"{component}.pid"


def wanted_path(home: Path) -> Path:
    """Present from `warehouse up` until `warehouse down`: the supervisor keeps the stack running meanwhile."""
    return home / "run" / "stack.wanted"


def restarts_path(home: Path) -> Path:
    return home / "run" / "restarts.json"


def restart_counts(home: Path) -> dict[str, int]:
    """How many times the supervisor restarted each component since `warehouse up`."""
    try:
        counts = json.loads(restarts_path(home).read_text())
        return {str(k): int(v) for k, v in counts.items()}
    except (OSError, ValueError):
        return {}


def count_restart(home: Path, component: str) -> None:
    counts = restart_counts(home)
    counts[component] = counts.get(component, 0) + 1
    restarts_path(home).write_text(json.dumps(counts))


def start_detached(command: Sequence[str], *, env: Mapping[str, str], log: Path, pid_file: Path) -> int:
    """Start a process in its own session (it outlives this command) and record it."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    record(process.pid, pid_file)
    return process.pid


def record(pid: int, pid_file: Path) -> None:
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    started = psutil.Process(pid).create_time()
    pid_file.write_text(json.dumps({"pid": pid, "create_time": started}))


def running(pid_file: Path) -> psutil.Process | None:
    """The process a pid file names, if it is still that same process (pids get reused)."""
    try:
        data = json.loads(pid_file.read_text())
        process = psutil.Process(int(data["pid"]))
        same = abs(process.create_time() - float(data["create_time"])) < 0.01
        return process if same and process.status() != psutil.STATUS_ZOMBIE else None
    except (OSError, ValueError, KeyError, psutil.Error):
        return None


def stop(pid_file: Path, timeout: float = 20.0) -> bool:
    """Terminate the recorded process (then kill it after `timeout`); True if one was running."""
    process = running(pid_file)
    pid_file.unlink(missing_ok=True)
    if process is None:
        return False
    process.terminate()
    try:
        process.wait(timeout)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(5)
    return True


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_owner(port: int) -> str:
    """Who listens on a local port, for error messages."""
    try:
        for conn in psutil.net_connections("tcp"):
            if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})"
    except (psutil.Error, OSError):
        pass
    return "another process"


def wait_until(check: object, what: str, timeout: float, log: Path | None = None) -> None:
    """Poll `check()` until true, else fail naming `what` and the log to read."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    where = f"; last log lines of {log}:\n{tail(log)}" if log else ""
    raise StackError(f"{what} did not become ready within {timeout:.0f}s{where}", hint="see the log above")


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def environment(**extra: str) -> dict[str, str]:
    """This process's environment for a child, without the passwords the warehouse keeps there for dbt."""
    env = {key: value for key, value in os.environ.items() if not key.endswith("_PASSWORD")}
    env.update(extra)
    return env
