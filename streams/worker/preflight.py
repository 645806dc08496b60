"""Fail fast, with a message that says what to fix, before Faust starts retrying forever."""

from __future__ import annotations

import asyncio
import ssl

from aiokafka import AIOKafkaConsumer
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError, SaslAuthenticationFailed, UnsupportedSaslMechanismError

from streams.worker.clients import client_kwargs
from streams.worker.clients import credentials as _credentials
from streams.settings import Settings


class PreflightError(RuntimeError):
    """Kafka cannot be used as configured; the message says what to fix (printed as is)."""


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.strip().rpartition(":")
    return host.strip("[]"), int(port)


async def _check_tls(settings: Settings, context: ssl.SSLContext, timeout_seconds: float) -> None:
    """Handshake with each bootstrap server as aiokafka will, to name a trust problem plainly.

    aiokafka reports a failed verification only as "Unable to bootstrap"; this says which
    certificate check failed and which setting to fix. Unreachable servers are left to the
    client check that follows.
    """
    k = settings.kafka
    for address in k.bootstrap_servers.split(","):
        host, port = _host_port(address)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout_seconds)
        except (OSError, asyncio.TimeoutError):
            continue  # unreachable: the client check below reports it
        try:
            await asyncio.wait_for(writer.start_tls(context, server_hostname=host), timeout_seconds)
        except ssl.SSLCertVerificationError as exc:
            trusted = f"the CA in KPI_KAFKA__SSL_CAFILE={k.ssl_cafile}" if k.ssl_cafile else "the system CA store (KPI_KAFKA__SSL_CAFILE is unset)"
            raise PreflightError(
                f"TLS certificate verification failed for Kafka at {host}:{port}: {exc.verify_message}. "
                f"The broker's certificate must be signed by {trusted} and name the host you connect to; "
                "set KPI_KAFKA__SSL_CAFILE to the CA that signed the broker's certificate."
            ) from None
        except (ssl.SSLError, OSError, EOFError, asyncio.TimeoutError) as exc:
            # A plaintext Kafka listener reads the ClientHello as a request and hangs up.
            raise PreflightError(
                f"TLS handshake with Kafka at {host}:{port} failed ({type(exc).__name__}: {exc}). Is {address.strip()} a TLS "
                f"listener (security_protocol {k.security_protocol})? Check KPI_KAFKA__BOOTSTRAP_SERVERS and "
                "KPI_KAFKA__SECURITY_PROTOCOL; a broker that requires client certificates needs KPI_KAFKA__SSL_CERTFILE/SSL_KEYFILE."
            ) from None
        finally:
            writer.close()
        try:
            await writer.wait_closed()
        except (OSError, ssl.SSLError):
            pass


async def _check_sasl(settings: Settings, kwargs: dict, timeout_seconds: float) -> None:
    """Log in on one connection: the client would report a refused login only as "Unable to bootstrap"."""
    k = settings.kafka
    for address in k.bootstrap_servers.split(","):
        host, port = _host_port(address)
        try:
            conn = await asyncio.wait_for(create_conn(host, port, request_timeout_ms=int(timeout_seconds * 1000), **kwargs), timeout_seconds)
        except (SaslAuthenticationFailed, UnsupportedSaslMechanismError) as exc:
            raise PreflightError(
                f"Kafka at {host}:{port} refused the SASL login of user {k.sasl_username!r} ({k.sasl_mechanism}): "
                f"{type(exc).__name__}. Check KPI_KAFKA__SASL_MECHANISM, KPI_KAFKA__SASL_USERNAME and KPI_KAFKA__SASL_PASSWORD."
            ) from None
        except (asyncio.TimeoutError, KafkaError, OSError):
            continue
        conn.close()
        return


async def _check(settings: Settings, timeout_seconds: float) -> None:
    k = settings.kafka
    try:
        creds = _credentials(settings)
    except (ssl.SSLError, OSError) as exc:
        raise PreflightError(
            f"cannot load the TLS files (KPI_KAFKA__SSL_CAFILE={k.ssl_cafile}, KPI_KAFKA__SSL_CERTFILE={k.ssl_certfile}, "
            f"KPI_KAFKA__SSL_KEYFILE={k.ssl_keyfile}): {exc}. They must be PEM files."
        ) from None
    context = getattr(creds, "ssl_context", creds)
    if isinstance(context, ssl.SSLContext):
        await _check_tls(settings, context, timeout_seconds)
    kwargs = client_kwargs(settings)
    if k.security_protocol.startswith("SASL"):
        await _check_sasl(settings, {n: v for n, v in kwargs.items() if n != "bootstrap_servers"}, timeout_seconds)
    consumer = AIOKafkaConsumer(request_timeout_ms=int(timeout_seconds * 1000), **kwargs)
    try:
        await asyncio.wait_for(consumer.start(), timeout_seconds)
        topics = await asyncio.wait_for(consumer.topics(), timeout_seconds)
    except (asyncio.TimeoutError, KafkaError, OSError) as exc:
        raise PreflightError(
            f"cannot reach Kafka at {k.bootstrap_servers} ({k.security_protocol}): {type(exc).__name__}: {exc}. "
            "Check KPI_KAFKA__BOOTSTRAP_SERVERS and the security settings, or start the local stack with `make up`."
        ) from None
    finally:
        try:
            await asyncio.wait_for(consumer.stop(), timeout_seconds)
        except Exception:  # noqa: BLE001 - best effort cleanup after a failed start
            pass
    wanted = [*settings.topics.inputs(), settings.topics.dead_letter]
    missing = [t for t in wanted if t not in topics]
    if missing:
        raise PreflightError(
            f"topics missing on {k.bootstrap_servers}: {', '.join(missing)}. Create them "
            "(`kpi-monitor stack up` does) or point KPI_TOPICS__* at existing ones."
        )


def check_kafka(settings: Settings, timeout_seconds: float = 10.0) -> None:
    """Check the TLS files, the TLS handshake, the SASL login, reachability and the topics,
    each within `timeout_seconds`. Raises PreflightError naming the first problem."""
    asyncio.run(_check(settings, timeout_seconds))
