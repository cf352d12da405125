from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from warehouse.artifacts import MavenJar, ensure_jar
from warehouse.errors import ArtifactError


def repository_with(tmp_path: Path, content: bytes) -> tuple[str, MavenJar]:
    jar = MavenJar("org.example", "thing", "1.0", hashlib.sha256(b"the real jar").hexdigest())
    folder = tmp_path / "repo" / "org" / "example" / "thing" / "1.0"
    folder.mkdir(parents=True)
    (folder / jar.filename).write_bytes(content)
    return (tmp_path / "repo").as_uri(), jar


def test_fetches_verifies_and_caches(tmp_path: Path) -> None:
    repository, jar = repository_with(tmp_path, b"the real jar")
    messages: list[str] = []
    path = ensure_jar(jar, tmp_path / "cache", repository, messages.append)
    assert path.read_bytes() == b"the real jar"
    assert len(messages) == 1
    ensure_jar(jar, tmp_path / "cache", "file:///nowhere", messages.append)  # cached: offline
    assert len(messages) == 1


def test_checksum_mismatch_is_refused_and_not_cached(tmp_path: Path) -> None:
    repository, jar = repository_with(tmp_path, b"a tampered jar")
    with pytest.raises(ArtifactError, match="checksum mismatch"):
        ensure_jar(jar, tmp_path / "cache", repository, lambda _: None)
    assert not list((tmp_path / "cache").iterdir())


def test_unreachable_artifact_names_the_url(tmp_path: Path) -> None:
    jar = MavenJar("org.example", "thing", "1.0", "0" * 64)
    with pytest.raises(ArtifactError, match=r"thing-1\.0\.jar"):
        ensure_jar(jar, tmp_path / "cache", (tmp_path / "empty").as_uri(), lambda _: None)
