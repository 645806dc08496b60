from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from streams.stack.errors import JarResolutionError, ToolNotFoundError
from streams.stack.jars import DEFAULT_KAFKA_VERSION, MARKER_NAME, cached_libs_dir, resolve_kafka_jars
from streams.stack.kafka import KafkaNode
from streams.stack.paths import KAFKA_POM_PATH


def _fake_cache(cache_dir: Path, pom: Path, version: str = "9.9.9") -> Path:
    import hashlib

    libs = cache_dir / version / "libs"
    libs.mkdir(parents=True)
    (libs / "a.jar").write_bytes(b"")
    marker = {"kafka_version": version, "pom_sha256": hashlib.sha256(pom.read_bytes()).hexdigest(), "jars": ["a.jar"]}
    (cache_dir / version / MARKER_NAME).write_text(json.dumps(marker))
    return libs


def test_complete_cache_is_used_without_maven(tmp_path: Path) -> None:
    libs = _fake_cache(tmp_path, KAFKA_POM_PATH)
    # A mvn that cannot run proves Maven is not invoked.
    assert resolve_kafka_jars(kafka_version="9.9.9", cache_dir=tmp_path, mvn=str(tmp_path / "no-mvn")) == libs


def test_cache_is_stale_when_a_jar_is_missing_or_the_pom_changed(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    shutil.copy(KAFKA_POM_PATH, pom)
    libs = _fake_cache(tmp_path / "cache", pom)
    assert cached_libs_dir("9.9.9", tmp_path / "cache", pom) == libs

    pom.write_text(pom.read_text() + "<!-- changed -->")
    assert cached_libs_dir("9.9.9", tmp_path / "cache", pom) is None

    libs2 = _fake_cache(tmp_path / "cache2", pom)
    (libs2 / "a.jar").unlink()
    assert cached_libs_dir("9.9.9", tmp_path / "cache2", pom) is None


def test_missing_maven_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ToolNotFoundError, match=r"Maven \(mvn\) not found on PATH.*apt-get install maven"):
        resolve_kafka_jars(kafka_version="9.9.9", cache_dir=tmp_path, env={"PATH": str(tmp_path)})


@pytest.mark.integration
def test_failing_maven_shows_the_tail_of_its_output(tmp_path: Path) -> None:
    with pytest.raises(JarResolutionError) as excinfo:
        # Offline and a version that does not exist: fails in seconds, no network needed.
        resolve_kafka_jars(kafka_version="0.0.0-does-not-exist", cache_dir=tmp_path, maven_args=["--offline"])
    message = str(excinfo.value)
    assert "Maven failed (exit 1) resolving Kafka 0.0.0-does-not-exist" in message
    assert "BUILD FAILURE" in message
    assert str(tmp_path / "0.0.0-does-not-exist" / "mvn.log") in message
    assert not (tmp_path / "0.0.0-does-not-exist" / "libs").exists()


@pytest.mark.integration
def test_resolved_cache_holds_the_broker_and_its_logging_jars(kafka: KafkaNode) -> None:
    libs = resolve_kafka_jars(kafka_version=DEFAULT_KAFKA_VERSION, mvn="/nonexistent/mvn")
    names = {p.name for p in libs.glob("*.jar")}
    assert f"kafka_2.13-{DEFAULT_KAFKA_VERSION}.jar" in names
    assert {"log4j-core-2.24.3.jar", "log4j-slf4j-impl-2.24.3.jar"} <= names
