"""deploy/install-system-packages.sh, the install step of `make install`, `make dev` and .ci/run.

Each test runs the script with PATH set to a folder of stub commands, so it decides as it
would on a machine that has (or lacks) each tool, without touching this machine's
packages: `id` says who we are, `apt-get` records how it was called (and "installs" a
package by adding its stub commands), `java` prints a version. Nothing runs as root.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streams.stack.paths import DEPLOY_DIR, REPO_ROOT

SCRIPT = DEPLOY_DIR / "install-system-packages.sh"
BASH = "/bin/bash"

# The commands each package brings, as the script checks them (python is handled apart).
PACKAGE_COMMANDS = {
    "make": ["make"],
    "gcc": ["gcc", "cc"],
    "openjdk-17-jre-headless": ["java"],
    "maven": ["mvn"],
    "prometheus": ["prometheus", "promtool"],
    "prometheus-alertmanager": ["prometheus-alertmanager", "amtool"],
    "chromium": ["chromium"],
    "procps": ["ps", "pgrep"],
    "docker-compose": ["docker-compose"],
}
JAVA_17 = 'echo \'openjdk version "17.0.15" 2025-04-15\' >&2'


def _stub(bin_dir: Path, name: str, body: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(f"#!{BASH}\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path: Path):
    """A fake machine: (bin dir, apt log, run(args, uid=0, missing=())) -> CompletedProcess."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    apt_log = tmp_path / "apt.log"
    # The real interpreter: its venv and headers are what the script checks.
    (bin_dir / "python3.11").symlink_to(sys.executable)
    for tool in ("rm", "chmod", "sed", "ln"):  # what the script and the stubs use
        (bin_dir / tool).symlink_to(f"/bin/{tool}" if Path(f"/bin/{tool}").exists() else f"/usr/bin/{tool}")

    # What each package brings, for the stub apt-get to "install": pool/<package>/<command>.
    pool = tmp_path / "pool"
    for package, commands in PACKAGE_COMMANDS.items():
        (pool / package).mkdir(parents=True)
        for command in commands:
            _stub(pool / package, command, JAVA_17 if command == "java" else "exit 0")

    def run(*args: str, uid: int = 0, missing: tuple[str, ...] = (), java: str = JAVA_17,
            apt: bool = True) -> subprocess.CompletedProcess[str]:
        for package, commands in PACKAGE_COMMANDS.items():
            for command in commands:
                (bin_dir / command).unlink(missing_ok=True)
                if package not in missing:
                    _stub(bin_dir, command, java if command == "java" else "exit 0")
        _stub(bin_dir, "id", f"echo {uid}")
        (bin_dir / "apt-get").unlink(missing_ok=True)
        if apt:
            # Records each call and whether the policy-rc.d was in place; `install` adds the
            # packages' commands, as the real one would.
            _stub(bin_dir, "apt-get", "\n".join([
                f'echo "$* policy-rc.d=$([[ -x $POLICY_RC_D ]] && echo yes || echo no)" >> {apt_log}',
                'if [[ $1 == install ]]; then',
                f'  for p in "$@"; do [[ -d {pool}/$p ]] && for c in {pool}/$p/*; do ln -sf "$c" {bin_dir}/; done; done',
                'fi',
                'exit 0',
            ]))
        env = {"PATH": str(bin_dir), "POLICY_RC_D": str(tmp_path / "policy-rc.d"), "HOME": str(tmp_path)}
        return subprocess.run([BASH, str(SCRIPT), *args], env=env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=60, check=False)

    run.apt_log = apt_log  # type: ignore[attr-defined]
    run.policy_rc_d = tmp_path / "policy-rc.d"  # type: ignore[attr-defined]
    return run


def test_a_machine_that_has_everything_installs_nothing(machine) -> None:
    result = machine()
    assert result.returncode == 0, result.stderr
    assert "all present" in result.stdout
    assert not machine.apt_log.exists()


def test_dry_run_as_root_names_exactly_the_missing_packages(machine) -> None:
    result = machine("--dry-run", missing=("maven", "prometheus-alertmanager", "chromium"))
    assert result.returncode == 0, result.stderr
    assert "apt-get install -y -q --no-install-recommends maven prometheus-alertmanager chromium\n" in result.stdout
    assert "mvn (the Kafka jars)" in result.stdout
    assert not machine.apt_log.exists()


def test_an_old_java_counts_as_missing(machine) -> None:
    result = machine("--dry-run", java="echo 'openjdk version \"11.0.2\" 2019-01-15' >&2")
    assert "--no-install-recommends openjdk-17-jre-headless\n" in result.stdout


def test_not_root_says_exactly_what_to_run_and_fails(machine) -> None:
    result = machine(uid=1000, missing=("prometheus", "docker-compose"))
    assert result.returncode == 1
    assert "sudo deploy/install-system-packages.sh" in result.stderr
    assert "sudo apt-get update && sudo apt-get install -y -q --no-install-recommends prometheus docker-compose" in result.stderr
    assert not machine.apt_log.exists()


def test_no_apt_get_fails_with_the_list(machine) -> None:
    result = machine(missing=("maven",), apt=False)
    assert result.returncode == 1
    assert "maven" in result.stdout and "no apt-get" in result.stderr


def test_as_root_it_installs_the_missing_packages_with_services_kept_from_starting(machine) -> None:
    result = machine(missing=("prometheus", "prometheus-alertmanager", "make"))
    assert result.returncode == 0, result.stdout + result.stderr
    calls = machine.apt_log.read_text().splitlines()
    assert calls == [
        "update -q policy-rc.d=yes",
        "install -y -q --no-install-recommends make prometheus prometheus-alertmanager policy-rc.d=yes",
    ]
    assert not machine.policy_rc_d.exists()  # removed again: it was ours
    assert "installed; all present" in result.stdout


def test_a_policy_rc_d_that_was_there_is_left_alone(machine) -> None:
    machine.policy_rc_d.write_text("#!/bin/sh\nexit 0\n")
    machine.policy_rc_d.chmod(0o755)
    assert machine(missing=("maven",)).returncode == 0
    assert machine.policy_rc_d.read_text() == "#!/bin/sh\nexit 0\n"


def test_make_install_and_dev_and_ci_call_the_same_step() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "deploy/install-system-packages.sh" in makefile
    ci = (REPO_ROOT / ".ci" / "run").read_text()
    assert "deploy/install-system-packages.sh" in ci and "make install" in ci and "make test" in ci
    assert "apt-get" not in ci  # no second copy of the install
    assert os.access(SCRIPT, os.X_OK)
