"""The committed Prometheus/Alertmanager configs: generated, current and valid."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from streams.stack.paths import DEPLOY_DIR
from streams.stack.render import committed_configs
from streams.stack.settings import StackSettings


@pytest.mark.parametrize("path", list(committed_configs()), ids=lambda p: str(p.relative_to(DEPLOY_DIR)))
def test_committed_config_matches_its_template(path: Path) -> None:
    assert path.is_file(), f"{path} is missing: run `make deploy-config`"
    assert path.read_text() == committed_configs()[path], f"{path} drifted: run `make deploy-config`"


def test_local_prometheus_config_targets_the_local_stack() -> None:
    settings = StackSettings()
    config = yaml.safe_load((DEPLOY_DIR / "prometheus" / "prometheus.yml").read_text())
    assert config["scrape_configs"][0]["static_configs"][0]["targets"] == ["127.0.0.1:6066"]
    assert settings.worker_metrics_address == "127.0.0.1:6066"
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        f"127.0.0.1:{settings.alertmanager_port}"
    ]
    # Relative to the config file: deploy/prometheus/rules/.
    assert config["rule_files"] == ["rules/*.yml"]


@pytest.mark.integration
@pytest.mark.parametrize("name", ["prometheus.yml", "prometheus.docker.yml"])
def test_prometheus_configs_pass_promtool(name: str) -> None:
    result = subprocess.run(
        ["promtool", "check", "config", name],
        cwd=DEPLOY_DIR / "prometheus",
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("name", ["alertmanager.yml", "alertmanager.docker.yml"])
def test_alertmanager_configs_pass_amtool(name: str) -> None:
    result = subprocess.run(
        ["amtool", "check-config", str(DEPLOY_DIR / "alertmanager" / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_kafka_pom_pins_the_versions_the_stack_expects() -> None:
    import xml.etree.ElementTree as ET

    from streams.stack.jars import DEFAULT_KAFKA_VERSION

    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(DEPLOY_DIR / "kafka" / "pom.xml").getroot()
    props = {el.tag.split("}")[1]: el.text for el in pom.find("m:properties", ns)}
    assert props["kafka.version"] == DEFAULT_KAFKA_VERSION
    assert DEFAULT_KAFKA_VERSION.startswith("4.1.")
    assert props["log4j.version"].startswith("2.24.")
    artifacts = {el.find("m:artifactId", ns).text for el in pom.iterfind("m:dependencies/m:dependency", ns)}
    assert artifacts == {"kafka_2.13", "log4j-slf4j-impl", "log4j-core"}
    [plugin] = pom.iterfind("m:build/m:plugins/m:plugin", ns)
    assert plugin.find("m:artifactId", ns).text == "maven-dependency-plugin"
    assert plugin.find("m:version", ns).text == "3.8.1"
