"""Resolving the Kafka broker's jars with Maven, once per version.

`deploy/kafka/pom.xml` pins the broker and its logging jars. Maven copies the
runtime classpath into `<cache_dir>/<version>/libs`; a marker file records the
pom's hash and the jar list, so later calls return at once without running
Maven (and work offline) until the pom changes.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from streams.stack.errors import JarResolutionError, ToolNotFoundError
from streams.stack.paths import JARS_CACHE_DIR, KAFKA_POM_PATH
from streams.stack.process import tail_text

DEFAULT_KAFKA_VERSION = "4.1.2"
MARKER_NAME = "resolved.json"
MAVEN_TIMEOUT_SECONDS = 900.0


def _pom_sha256(pom_path: Path) -> str:
    return hashlib.sha256(pom_path.read_bytes()).hexdigest()


def cached_libs_dir(kafka_version: str, cache_dir: Path, pom_path: Path) -> Path | None:
    """The libs folder if a complete resolution for this pom and version is cached."""
    version_dir = cache_dir / kafka_version
    libs_dir = version_dir / "libs"
    try:
        marker = json.loads((version_dir / MARKER_NAME).read_text())
    except (OSError, ValueError):
        return None
    if marker.get("pom_sha256") != _pom_sha256(pom_path) or marker.get("kafka_version") != kafka_version:
        return None
    jars = marker.get("jars") or []
    if not jars or not all((libs_dir / jar).is_file() for jar in jars):
        return None
    return libs_dir


def resolve_kafka_jars(
    *,
    kafka_version: str = DEFAULT_KAFKA_VERSION,
    cache_dir: Path = JARS_CACHE_DIR,
    pom_path: Path = KAFKA_POM_PATH,
    mvn: str | None = None,
    maven_args: Sequence[str] = (),
    timeout_seconds: float = MAVEN_TIMEOUT_SECONDS,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Directory holding the broker classpath for `kafka_version`; runs Maven if needed."""
    if not pom_path.is_file():
        raise JarResolutionError(
            f"{pom_path} not found: the local stack runs from a source checkout (pip install -e .)"
        )
    cached = cached_libs_dir(kafka_version, cache_dir, pom_path)
    if cached is not None:
        return cached

    version_dir = cache_dir / kafka_version
    version_dir.mkdir(parents=True, exist_ok=True)
    # Two test sessions or a test and `make jars` may resolve at once.
    with (cache_dir / f"{kafka_version}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = cached_libs_dir(kafka_version, cache_dir, pom_path)
        if cached is not None:
            return cached
        return _run_maven(kafka_version, version_dir, pom_path, mvn, maven_args, timeout_seconds, env)


def _run_maven(
    kafka_version: str,
    version_dir: Path,
    pom_path: Path,
    mvn: str | None,
    maven_args: Sequence[str],
    timeout_seconds: float,
    env: Mapping[str, str] | None,
) -> Path:
    env = dict(os.environ if env is None else env)
    mvn_path = shutil.which(mvn or "mvn", path=env.get("PATH"))
    if mvn_path is None:
        raise ToolNotFoundError(
            f"Maven ({mvn or 'mvn'}) not found on PATH; it resolves the Kafka jars from Maven Central. "
            "Install it (Debian: apt-get install maven) and retry"
        )
    libs_dir = version_dir / "libs"
    partial_dir = version_dir / "libs.partial"
    log_path = version_dir / "mvn.log"
    shutil.rmtree(partial_dir, ignore_errors=True)
    argv = [
        mvn_path,
        "--batch-mode",
        "--no-transfer-progress",
        "-Dstyle.color=never",
        "-f",
        str(pom_path),
        f"-Dkafka.version={kafka_version}",
        f"-Dkafka.libs.dir={partial_dir}",
        *maven_args,
        "dependency:copy-dependencies",
    ]
    with log_path.open("wb") as log:
        try:
            result = subprocess.run(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=env, timeout=timeout_seconds, check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise JarResolutionError(
                f"Maven did not finish resolving Kafka {kafka_version} within {timeout_seconds:g} s "
                f"(network to Maven Central?). Last lines of {log_path}:\n{tail_text(log_path, 25)}"
            ) from exc
    if result.returncode != 0:
        raise JarResolutionError(
            f"Maven failed (exit {result.returncode}) resolving Kafka {kafka_version} from {pom_path}. "
            f"Last lines of {log_path}:\n{tail_text(log_path, 25)}"
        )
    jars = sorted(p.name for p in partial_dir.glob("*.jar"))
    if f"kafka_2.13-{kafka_version}.jar" not in jars:
        raise JarResolutionError(
            f"Maven succeeded but {partial_dir} has no kafka_2.13-{kafka_version}.jar; see {log_path}"
        )
    shutil.rmtree(libs_dir, ignore_errors=True)
    partial_dir.rename(libs_dir)
    marker = {"kafka_version": kafka_version, "pom_sha256": _pom_sha256(pom_path), "jars": jars}
    (version_dir / MARKER_NAME).write_text(json.dumps(marker, indent=2) + "\n")
    return libs_dir

