"""Finding a Java runtime the Kafka broker can run on."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from streams.stack.errors import ToolNotFoundError

MIN_JAVA_MAJOR = 17  # Kafka 4.x brokers need Java 17+.
_INSTALL_HINT = "install Java 17+ (Debian: apt-get install openjdk-17-jre-headless)"


class JavaNotFoundError(ToolNotFoundError):
    """No usable `java`: not on PATH, JAVA_HOME wrong, or too old."""


def java_major_version(java: str, timeout_seconds: float = 30.0) -> int:
    """The major version of `java` (17 for "17.0.15", 8 for "1.8.0_392"), from `java -version`.
    Raises JavaNotFoundError when it cannot run, fails or prints no version;
    subprocess.TimeoutExpired when it does not answer within `timeout_seconds`."""
    try:
        result = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=timeout_seconds, check=False
        )
    except OSError as exc:
        raise JavaNotFoundError(f"could not run {java}: {exc}; {_INSTALL_HINT}") from exc
    # `java -version` prints e.g. 'openjdk version "17.0.15" ...' or '"1.8.0_392"' on stderr.
    match = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    if result.returncode != 0 or match is None:
        raise JavaNotFoundError(
            f"{java} -version failed (exit {result.returncode}): {(result.stderr or result.stdout).strip()[:500]}"
        )
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    return major


def find_java(java: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """Path of a Java 17+ `java`: `java` if given, else $JAVA_HOME/bin/java, else PATH.

    A JAVA_HOME that is set but wrong is an error rather than silently ignored,
    since Maven and other tools on the machine would pick it up too.
    """
    env = os.environ if env is None else env
    if java is not None:
        candidate = Path(java)
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            found = shutil.which(java, path=env.get("PATH"))
            if found is None:
                raise JavaNotFoundError(f"java executable {java!r} not found; {_INSTALL_HINT}")
            candidate = Path(found)
        source = f"java={java}"
    elif env.get("JAVA_HOME"):
        java_home = Path(env["JAVA_HOME"])
        candidate = java_home / "bin" / "java"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            raise JavaNotFoundError(
                f"JAVA_HOME is set to {java_home}, but {candidate} does not exist or is not executable; "
                f"point JAVA_HOME at a Java {MIN_JAVA_MAJOR}+ installation (e.g. /usr/lib/jvm/java-17-openjdk-amd64) "
                "or unset it to use java from PATH"
            )
        source = f"JAVA_HOME={java_home}"
    else:
        found = shutil.which("java", path=env.get("PATH"))
        if found is None:
            raise JavaNotFoundError(f"java not found on PATH and JAVA_HOME is not set; {_INSTALL_HINT}")
        candidate = Path(found)
        source = "PATH"
    major = java_major_version(str(candidate))
    if major < MIN_JAVA_MAJOR:
        raise JavaNotFoundError(
            f"{candidate} (from {source}) is Java {major}; Kafka needs Java {MIN_JAVA_MAJOR}+: {_INSTALL_HINT}"
        )
    return str(candidate)
