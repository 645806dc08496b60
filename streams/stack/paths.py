"""Where the local stack finds its repository files and keeps its own.

The stack is developer tooling: it runs from a checkout (editable install), so
paths are anchored at the repository root rather than the installed package.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY_DIR = REPO_ROOT / "deploy"
KAFKA_POM_PATH = DEPLOY_DIR / "kafka" / "pom.xml"
KAFKA_LOG4J_CONFIG_PATH = DEPLOY_DIR / "kafka" / "log4j2.xml"
PROMETHEUS_RULES_DIR = DEPLOY_DIR / "prometheus" / "rules"
# Not committed (.gitignore: .cache/ and /var/).
JARS_CACHE_DIR = REPO_ROOT / ".cache" / "kafka"
STACK_STATE_DIR = REPO_ROOT / "var" / "stack"
