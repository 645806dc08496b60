#!/usr/bin/env bash
# Installs the system packages kpi-monitor's local stack and tests need, when missing.
#
#   deploy/install-system-packages.sh            # install what is missing (apt-get, as root)
#   deploy/install-system-packages.sh --dry-run  # only say what is missing and what would run
#
# `make install`, `make dev` and `.ci/run` all call this one script. It checks what each
# package brings (a command on PATH, Java's version, Python's venv and headers), not the
# package database, so a JDK from elsewhere or a Python from pyenv counts as present, and
# a machine that has everything is done in a fraction of a second.
#
# Missing packages are installed with apt-get when running as root. Debian's prometheus
# packages start their services on install; a policy-rc.d keeps them from starting (and
# from holding 9090/9093), and where systemd runs they are disabled afterwards: the stack
# and the tests run their own instances. Not root, or no apt-get: it prints exactly what
# to run and exits 1.
#
# Environment: PYTHON (default python3.11), the interpreter the venv is made with;
# JAVA_HOME, honoured as the stack honours it; POLICY_RC_D (default /usr/sbin/policy-rc.d),
# for the script's own tests.
set -euo pipefail

PYTHON=${PYTHON:-python3.11}
POLICY_RC_D=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
MIN_JAVA=17
SCRIPT="deploy/install-system-packages.sh"
DRY_RUN=0

for arg in "$@"; do
  case $arg in
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "install-system-packages: unknown option $arg (try --help)" >&2
      exit 2
      ;;
  esac
done

say() { echo "install-system-packages: $*"; }
have() { command -v "$1" >/dev/null 2>&1; }

java_ok() {
  local java=java
  if [[ -n ${JAVA_HOME:-} ]]; then java=$JAVA_HOME/bin/java; fi
  have "$java" || return 1
  local text major
  text=$("$java" -version 2>&1) || return 1
  # 'openjdk version "17.0.15" ...', or '"1.8.0_392"' for Java 8.
  [[ $text =~ version\ \"([0-9]+)(\.([0-9]+))? ]] || return 1
  major=${BASH_REMATCH[1]}
  if [[ $major == 1 ]]; then major=${BASH_REMATCH[3]:-1}; fi
  ((major >= MIN_JAVA))
}
python_venv_ok() { have "$PYTHON" && "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; }
# mypyc compiles the hot kpi/ modules: a C compiler and Python's headers.
python_headers_ok() {
  have "$PYTHON" && "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' >/dev/null 2>&1
}
# The compiler Python's build uses (sysconfig CC, usually gcc), as setuptools will call it.
c_compiler_ok() {
  local cc
  cc=$("$PYTHON" -c 'import sysconfig; print((sysconfig.get_config_var("CC") or "cc").split()[0])' 2>/dev/null) || cc=cc
  have "$cc"
}
compose_ok() { have docker-compose || { have docker && docker compose version >/dev/null 2>&1; }; }

# package | what must work | how to tell (a shell function or command list)
CHECKS=(
  "make|make|have make"
  "python3.11|$PYTHON|have $PYTHON"
  "python3-venv|$PYTHON -m venv (ensurepip)|python_venv_ok"
  "python3-dev|Python.h for $PYTHON (mypyc)|python_headers_ok"
  "gcc|a C compiler (mypyc)|c_compiler_ok"
  "openjdk-17-jre-headless|Java $MIN_JAVA+ (the Kafka broker)|java_ok"
  "maven|mvn (the Kafka jars)|have mvn"
  "prometheus|prometheus and promtool|have prometheus && have promtool"
  "prometheus-alertmanager|prometheus-alertmanager and amtool|{ have prometheus-alertmanager || have alertmanager; } && have amtool"
  "chromium|chromium (browser tests)|have chromium"
  "procps|ps and pgrep (tests)|have ps && have pgrep"
  "docker-compose|docker-compose (validates deploy/docker-compose.yml; no engine needed)|compose_ok"
)

missing_packages=()
missing_what=()
find_missing() {
  missing_packages=()
  missing_what=()
  local entry package what test
  for entry in "${CHECKS[@]}"; do
    IFS='|' read -r package what test <<<"$entry"
    if ! eval "$test"; then
      missing_packages+=("$package")
      missing_what+=("$what")
    fi
  done
}

find_missing
if ((${#missing_packages[@]} == 0)); then
  say "all present (${#CHECKS[@]} checks: Java $MIN_JAVA+, Maven, Prometheus, Alertmanager, $PYTHON with venv and headers, a C compiler, Chromium, procps, docker-compose, make)"
  exit 0
fi

say "missing:"
for i in "${!missing_packages[@]}"; do
  printf '  %-26s %s\n' "${missing_packages[$i]}" "${missing_what[$i]}"
done
install_cmd="apt-get install -y -q --no-install-recommends ${missing_packages[*]}"

if ! have apt-get; then
  say "this machine has no apt-get: install the equivalents of the Debian packages above with its package manager, then run this again" >&2
  exit 1
fi
uid=$(id -u)
if [[ $uid != 0 ]]; then
  {
    say "installing them needs root. Run:"
    echo "  sudo $SCRIPT"
    echo "or install them yourself (the packaged Prometheus and Alertmanager services are not needed: stop them):"
    echo "  sudo apt-get update && sudo $install_cmd"
    echo "then run the command you ran again."
  } >&2
  exit 1
fi

if ((DRY_RUN)); then
  say "would run (as root): a policy-rc.d that keeps services from starting, then"
  echo "  apt-get update -q"
  echo "  $install_cmd"
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
added_policy_rc=0
remove_policy_rc() {
  if ((added_policy_rc)); then rm -f "$POLICY_RC_D"; fi
}
trap remove_policy_rc EXIT
if [[ ! -e $POLICY_RC_D ]]; then
  # Exit 101: "action forbidden" for every service start the packages ask for.
  printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC_D"
  chmod 755 "$POLICY_RC_D"
  added_policy_rc=1
fi
say "running: apt-get update -q && $install_cmd"
apt-get update -q
# shellcheck disable=SC2086 # the package list is meant to split
apt-get install -y -q --no-install-recommends "${missing_packages[@]}"
remove_policy_rc
added_policy_rc=0
# Belt and braces where systemd runs: the packaged services stay off.
if have systemctl && systemctl is-system-running >/dev/null 2>&1; then
  systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter >/dev/null 2>&1 || true
fi

find_missing
if ((${#missing_packages[@]} > 0)); then
  say "still missing after the install: ${missing_packages[*]} (${missing_what[*]})" >&2
  exit 1
fi
say "installed; all present"
