from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from streams.stack.java import JavaNotFoundError, find_java


def test_wrong_java_home_is_named_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError) as excinfo:
        find_java(env={"JAVA_HOME": str(tmp_path / "jdk"), "PATH": os.environ["PATH"]})
    assert f"JAVA_HOME is set to {tmp_path / 'jdk'}" in str(excinfo.value)


def test_no_java_on_path_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(JavaNotFoundError, match=r"java not found on PATH.*openjdk-17"):
        find_java(env={"PATH": str(tmp_path)})


def test_too_old_java_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "java"
    fake.write_text('#!/bin/sh\necho \'openjdk version "11.0.2" 2019-01-15\' >&2\n')
    fake.chmod(0o755)
    with pytest.raises(JavaNotFoundError, match="Java 11; Kafka needs Java 17"):
        find_java(str(fake))


@pytest.mark.integration
def test_java_on_this_machine_is_usable() -> None:
    java = find_java()
    assert os.access(java, os.X_OK)
    if "JAVA_HOME" not in os.environ:
        assert Path(java) == Path(shutil.which("java") or "")
