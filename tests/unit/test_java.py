from __future__ import annotations

import os
from pathlib import Path

import pytest

from warehouse.embedded.java import find_java
from warehouse.errors import StackError


def test_missing_java_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(StackError) as caught:
        find_java({"PATH": str(tmp_path)})
    assert "Java not found" in str(caught.value)
    assert "JAVA_HOME" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_java_home_is_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=str(tmp_path)):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": os.environ["PATH"]})


def test_unsupported_version_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "bin" / "java"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'openjdk version \"8.0.1\"' >&2\n")
    fake.chmod(0o755)
    with pytest.raises(StackError, match="Java 8"):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": ""})


def test_java_on_path_is_found() -> None:
    assert find_java().major in (11, 17, 21)
