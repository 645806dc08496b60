"""Secrets stay out of settings dumps, validation errors and log records (no broker needed)."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from streams.worker.redaction import REDACTED, install_log_redaction
from streams.settings import Settings

PASSWORD = "pw-Zq8#rT'x\\long-and-random-4711"
KEY_PASSWORD = "keypass-8c1f0d2e"


@pytest.fixture
def settings(monkeypatch) -> Settings:
    for name, value in {
        "KPI_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "KPI_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "KPI_KAFKA__SASL_USERNAME": "kpi",
        "KPI_KAFKA__SASL_PASSWORD": PASSWORD,
        "KPI_KAFKA__SSL_KEYFILE_PASSWORD": KEY_PASSWORD,
    }.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_settings_repr_str_redacted_and_json_dump_hide_secrets(settings):
    assert settings.kafka.sasl_password.get_secret_value() == PASSWORD
    for text in (repr(settings), str(settings), repr(settings.kafka), str(settings.redacted()), settings.model_dump_json()):
        assert PASSWORD not in text and KEY_PASSWORD not in text
    assert settings.redacted()["kafka"]["sasl_password"] == "**********"


def test_validation_errors_do_not_quote_the_password(monkeypatch):
    monkeypatch.setenv("KPI_KAFKA__SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KPI_KAFKA__SASL_PASSWORD", PASSWORD)  # username and mechanism missing
    with pytest.raises(ValidationError) as info:
        Settings()
    message = str(info.value)
    assert "needs sasl_mechanism, sasl_username and sasl_password" in message
    assert PASSWORD not in message and PASSWORD[-12:] not in message


def test_log_redaction_covers_plain_str_escaped_and_bytes_escaped_spellings_and_tracebacks(caplog):
    previous = logging.getLogRecordFactory()
    install_log_redaction([PASSWORD, KEY_PASSWORD])
    try:
        log = logging.getLogger("tests.redaction")
        with caplog.at_level(logging.DEBUG, logger="tests.redaction"):
            log.debug("Request: %s", f"SaslAuthenticateRequest(sasl_auth_bytes={b'kpi' + bytes(1) + b'kpi' + bytes(1) + PASSWORD.encode()!r})")
            log.info("config %r", {"password": PASSWORD})
            log.warning("key password is %s", KEY_PASSWORD)
            log.info("%s at 100%%", PASSWORD)  # a redacted message is not %-formatted again
            log.info("untouched: %s%%", 100)
            try:
                raise RuntimeError(f"login failed for {PASSWORD}")
            except RuntimeError:
                log.exception("boom")
        text = caplog.text
        assert PASSWORD not in text and repr(PASSWORD)[1:-1] not in text and repr(PASSWORD.encode())[2:-1] not in text
        assert KEY_PASSWORD not in text
        assert text.count(REDACTED) == 5
        assert f"{REDACTED} at 100%" in text and "untouched: 100%" in text
    finally:
        logging.setLogRecordFactory(previous)


def test_a_redacted_line_survives_the_worker_s_log_formatter():
    # mode's formatter (the worker's handlers, once Faust starts) wraps args that are not a
    # tuple: a redacted record with args None became "(None,)" and a "--- Logging error ---".
    from mode.utils.logging import ExtensionFormatter

    previous = logging.getLogRecordFactory()
    install_log_redaction([PASSWORD])
    try:
        record = logging.getLogger("tests.redaction").makeRecord("tests.redaction", logging.DEBUG, __file__, 1, "auth %r", (PASSWORD.encode(),), None)
        text = ExtensionFormatter(fmt="%(message)s").format(record)  # raised TypeError before
        assert text == f'auth b"{REDACTED}"'  # the password holds a quote: its bytes repr is double-quoted
    finally:
        logging.setLogRecordFactory(previous)
