"""Finding a Java runtime that Flink 1.20 supports."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from warehouse.errors import StackError

SUPPORTED = (11, 17, 21)
INSTALL_HINT = "install Java 17 (apt-get install openjdk-17-jre-headless) or set JAVA_HOME to a JDK 11/17/21"


@dataclass(frozen=True)
class Java:
    executable: Path
    major: int


def find_java(environ: dict[str, str] | None = None) -> Java:
    env = os.environ if environ is None else environ
    executable = _executable(env)
    major = _major_version(executable)
    if major not in SUPPORTED:
        raise StackError(f"Java {major} at {executable} is not supported by Flink 1.20", hint=INSTALL_HINT)
    return Java(executable, major)


def _executable(env: os._Environ[str] | dict[str, str]) -> Path:
    home = env.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.exists():
            return candidate
        raise StackError(f"JAVA_HOME={home} has no bin/java", hint=INSTALL_HINT)
    found = shutil.which("java", path=env.get("PATH", ""))
    if not found:
        raise StackError("Java not found (no JAVA_HOME, no java on PATH)", hint=INSTALL_HINT)
    return Path(found)


def _major_version(executable: Path) -> int:
    try:
        output = subprocess.run([str(executable), "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise StackError(f"cannot run {executable}: {exc}", hint=INSTALL_HINT) from exc
    match = re.search(r'version "(\d+)(?:\.(\d+))?', output)
    if not match:
        raise StackError(f"cannot read the Java version from {executable}", hint=INSTALL_HINT)
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major
