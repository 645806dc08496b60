"""Kafka connection settings for each security protocol, without a broker.

The proof that these connect (TLS with a private CA, SASL/PLAIN, refused logins) is
tests/streams/test_security.py against a real broker.
"""

from __future__ import annotations

import ssl

import faust

from streams.settings import Settings
from streams.worker.clients import client_kwargs, credentials
from tests.streams.security_support import make_ca

SASL = {"sasl_mechanism": "PLAIN", "sasl_username": "kpi", "sasl_password": "s3cret"}


def settings(**kafka) -> Settings:
    return Settings(kafka={"bootstrap_servers": "b1:9093,b2:9093", **kafka})


def test_plaintext_has_no_credentials() -> None:
    s = settings()
    assert credentials(s) is None
    assert client_kwargs(s) == {"bootstrap_servers": "b1:9093,b2:9093", "security_protocol": "PLAINTEXT"}


def test_ssl_trusts_the_given_ca_and_presents_the_client_certificate(tmp_path) -> None:
    ca = make_ca(tmp_path, "test-ca")
    s = settings(security_protocol="SSL", ssl_cafile=ca, ssl_certfile=ca, ssl_keyfile=ca.with_suffix(".key"))
    context = credentials(s)
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert [dict(pair[0] for pair in c["subject"])["commonName"] for c in context.get_ca_certs()] == ["test-ca"]
    kwargs = client_kwargs(s)
    assert set(kwargs) == {"bootstrap_servers", "security_protocol", "ssl_context"}
    assert kwargs["security_protocol"] == "SSL" and isinstance(kwargs["ssl_context"], ssl.SSLContext)


def test_sasl_plaintext_hands_the_password_to_the_client_in_plain_text() -> None:
    s = settings(security_protocol="SASL_PLAINTEXT", **SASL)
    creds = credentials(s)
    assert isinstance(creds, faust.SASLCredentials) and creds.ssl_context is None
    assert (creds.username, creds.password, creds.mechanism.value) == ("kpi", "s3cret", "PLAIN")
    assert client_kwargs(s) == {
        "bootstrap_servers": "b1:9093,b2:9093", "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "PLAIN", "sasl_plain_username": "kpi", "sasl_plain_password": "s3cret", "ssl_context": None,
    }


def test_sasl_ssl_carries_the_tls_context_in_both_forms(tmp_path) -> None:
    ca = make_ca(tmp_path, "test-ca")
    s = settings(security_protocol="SASL_SSL", ssl_cafile=ca, **SASL)
    creds = credentials(s)
    assert isinstance(creds, faust.SASLCredentials) and isinstance(creds.ssl_context, ssl.SSLContext)
    kwargs = client_kwargs(s)
    assert kwargs["ssl_context"] is not None and kwargs["sasl_plain_password"] == "s3cret"
    assert kwargs["security_protocol"] == "SASL_SSL"
