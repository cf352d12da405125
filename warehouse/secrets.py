"""Passwords: generated once for the embedded store, never written where the warehouse writes anything else.

The embedded store's passwords (its superuser and the read-only role) are generated at the first `warehouse
up` and kept under the stack's home in `secrets/` (mode 0600; the folder 0700). Everything else the
warehouse writes (compiled jobs under `target/`, the job registry, logs it controls) names a password by
reference, `${password:<user>}`; the SQL Gateway client puts the value in place when it sends a statement
to Flink, and takes it out of any error Flink sends back.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from warehouse.errors import ConfigError

STORE_PASSWORD = "store-password"
READER_PASSWORD = "reader-password"
READER_USER = "warehouse_reader"
MYSQL_PASSWORD = "mysql-password"
MYSQL_USER = "warehouse_cdc"  # the embedded MySQL server's login for CDC readers and the warehouse
REFERENCE = re.compile(r"\$\{password:([^}]+)\}")
HIDDEN = "******"


def reference(user: str) -> str:
    """How a job's DDL names the password of `user`."""
    return "${password:" + user + "}"


def resolve(text: str, passwords: Mapping[str, str]) -> str:
    """`text` with every password reference replaced by the password (of a user the warehouse knows)."""

    def value(match: re.Match[str]) -> str:
        user = match.group(1)
        if user not in passwords:
            raise ConfigError(f"no password is known for the store user '{user}'", hint="check store in profiles.yml")
        return passwords[user].replace("'", "''")  # they stand inside a Flink string literal

    return REFERENCE.sub(value, text)


def scrub(text: str, passwords: Mapping[str, str]) -> str:
    """`text` (an error message, say) with every known password hidden."""
    for password in passwords.values():
        if password:
            text = text.replace(password, HIDDEN)
    return text


def secret_path(home: Path, name: str) -> Path:
    return home / "secrets" / name


def read_secret(home: Path, name: str) -> str:
    """The stored secret, or "" before the first `warehouse up` made it."""
    try:
        return secret_path(home, name).read_text().strip()
    except OSError:
        return ""


def ensure_secret(home: Path, name: str) -> str:
    """The stored secret; generated (and stored with mode 0600) the first time."""
    existing = read_secret(home, name)
    if existing:
        return existing
    path = secret_path(home, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    value = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(value + "\n")
    return value
