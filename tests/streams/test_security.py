"""TLS and SASL against a real broker: the worker consumes over TLS, refuses a wrong CA with a
clear message, and a SASL password appears in no log line (at debug level), metric or health page.

One broker for the module, with three listeners: PLAINTEXT for admin and the test producer,
SSL (PEM keystore, certificates made here with openssl) and SASL_PLAINTEXT (PLAIN). The
worker is pointed only at the SSL or the SASL port.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request

import orjson
import pytest

from streams.stack.errors import StackError
from tests.streams.security_support import SecureBroker, secure_kafka_node
from tests.streams.worker_harness import Topics, Worker, produce

pytestmark = pytest.mark.integration

SASL_USERNAME = "kpi-monitor"


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> SecureBroker:
    password = "pw-" + secrets.token_urlsafe(32)
    secure = secure_kafka_node(tmp_path_factory.mktemp("secure-kafka"), SASL_USERNAME, password)
    try:
        secure.node.start()
    except StackError as exc:
        secure.node.stop()
        pytest.fail(f"the TLS/SASL test broker could not start:\n{exc}", pytrace=False)
    try:
        yield secure
    finally:
        secure.node.stop()


def _surveys(n: int) -> list[bytes]:
    now = time.time()
    return [
        orjson.dumps({"event_id": f"s{i}", "type": "survey.nps", "ts": now - 30 + i, "customer_id": f"c{i}", "score": 10 if i % 2 else 0, "team": "billing"})
        for i in range(n)
    ]


def _run_worker_once(bootstrap: str, topics: Topics, tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **topics.env(), "KPI_KAFKA__BOOTSTRAP_SERVERS": bootstrap, "KPI_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run([sys.executable, "-m", "streams.cli", "worker"], env=full_env, capture_output=True, timeout=120, cwd=tmp_path)


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.read().decode()


def test_worker_consumes_from_a_tls_only_listener(broker, tmp_path):
    topics = Topics()
    topics.create(broker.plaintext)
    worker = Worker(broker.ssl, topics, tmp_path, {"KPI_KAFKA__SECURITY_PROTOCOL": "SSL", "KPI_KAFKA__SSL_CAFILE": str(broker.ca)})
    try:
        worker.wait_ready()
        sent = produce(broker.plaintext, topics, _surveys(6))
        scrape = worker.wait_consumed(sent)
        assert scrape.get("cxkpi_nps_responses", window="5m") == 6
        assert scrape.get("cxkpi_nps_score", window="5m") == 0  # 3 promoters, 3 detractors
        assert scrape.get("cxkpi_kafka_connected") == 1
        log = worker.log()
        assert f"'bootstrap_servers': '{broker.ssl}'" in log and "'security_protocol': 'SSL'" in log
        assert broker.plaintext not in log  # it never touched the PLAINTEXT listener
    finally:
        worker.stop()


def test_worker_given_the_wrong_ca_exits_naming_the_verification_failure_and_the_setting(broker, tmp_path):
    topics = Topics()
    topics.create(broker.plaintext)
    result = _run_worker_once(broker.ssl, topics, tmp_path, {"KPI_KAFKA__SECURITY_PROTOCOL": "SSL", "KPI_KAFKA__SSL_CAFILE": str(broker.wrong_ca)})
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert f"TLS certificate verification failed for Kafka at {broker.ssl}" in stderr
    assert "unable to get local issuer certificate" in stderr  # OpenSSL's own reason
    assert f"KPI_KAFKA__SSL_CAFILE={broker.wrong_ca}" in stderr


def test_worker_given_a_plaintext_port_for_tls_exits_with_a_handshake_error(broker, tmp_path):
    topics = Topics()
    topics.create(broker.plaintext)
    result = _run_worker_once(broker.plaintext, topics, tmp_path, {"KPI_KAFKA__SECURITY_PROTOCOL": "SSL", "KPI_KAFKA__SSL_CAFILE": str(broker.ca)})
    stderr = result.stderr.decode()
    assert result.returncode == 3, stderr
    assert "TLS handshake with Kafka" in stderr and "KPI_KAFKA__SECURITY_PROTOCOL" in stderr


def _sasl_env(password: str) -> dict[str, str]:
    return {
        "KPI_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KPI_KAFKA__SASL_MECHANISM": "PLAIN",
        "KPI_KAFKA__SASL_USERNAME": SASL_USERNAME,
        "KPI_KAFKA__SASL_PASSWORD": password,
    }


def test_sasl_password_is_in_no_log_line_metric_or_health_page(broker, tmp_path):
    password = broker.sasl_password
    topics = Topics()
    topics.create(broker.plaintext)
    worker = Worker(broker.sasl, topics, tmp_path, {**_sasl_env(password), "KPI_LOG_LEVEL": "debug"})
    try:
        worker.wait_ready()
        sent = produce(broker.plaintext, topics, _surveys(4) + [b"not json"])
        scrape = worker.wait_consumed(sent)
        assert scrape.get("cxkpi_nps_responses", window="5m") == 4
        metrics = worker.scrape().text
        health = _get(f"http://127.0.0.1:{worker.port}/healthz")
    finally:
        worker.stop()
    log = worker.log()
    # The run really was at debug level and really logged in with SASL/PLAIN...
    assert " DEBUG " in log and f"Authenticated as {SASL_USERNAME} via PLAIN" in log
    # ...and aiokafka's debug log of the authenticate request, which carries the password
    # in clear (b'\x00user\x00password'), was redacted rather than written.
    assert "SaslAuthenticateRequest" in log and "**********" in log
    for spelling in (password, password.encode().hex(), repr(password.encode())[2:-1]):
        assert spelling not in log
        assert spelling not in metrics
        assert spelling not in health
    assert len(log) > 10_000  # a real debug log, not an empty file


def test_wrong_sasl_password_exits_naming_the_settings_without_echoing_it(broker, tmp_path):
    topics = Topics()
    topics.create(broker.plaintext)
    wrong = "wrong-" + secrets.token_urlsafe(24)
    result = _run_worker_once(broker.sasl, topics, tmp_path, {**_sasl_env(wrong), "KPI_LOG_LEVEL": "debug"})
    output = result.stdout.decode() + result.stderr.decode()
    assert result.returncode == 3, output
    assert f"refused the SASL login of user '{SASL_USERNAME}'" in output and "KPI_KAFKA__SASL_PASSWORD" in output
    assert wrong not in output
