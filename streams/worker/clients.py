"""Kafka client settings shared by the Faust app and the worker's own aiokafka clients.

Faust and aiokafka are imported where used, so that the topic administration (imported by
the local stack too) does not load Faust.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from streams.settings import Settings

log = logging.getLogger("kpi_monitor.worker")


def credentials(settings: Settings) -> Any:
    """What Faust takes as `broker_credentials`: `faust.SASLCredentials` (with the SSL context
    for SASL_SSL), an `ssl.SSLContext` (SSL), or None (PLAINTEXT).

    Raises ssl.SSLError or OSError when a TLS file cannot be loaded (the preflight names them).
    """
    k = settings.kafka
    ssl_context = None
    if k.security_protocol in ("SSL", "SASL_SSL"):
        ssl_context = ssl.create_default_context(cafile=str(k.ssl_cafile) if k.ssl_cafile else None)
        if k.ssl_certfile:
            ssl_context.load_cert_chain(
                str(k.ssl_certfile),
                str(k.ssl_keyfile) if k.ssl_keyfile else None,
                k.ssl_keyfile_password.get_secret_value() if k.ssl_keyfile_password else None,
            )
    if k.security_protocol.startswith("SASL"):
        import faust

        assert k.sasl_username and k.sasl_password and k.sasl_mechanism
        return faust.SASLCredentials(
            username=k.sasl_username,
            password=k.sasl_password.get_secret_value(),
            mechanism=k.sasl_mechanism,
            ssl_context=ssl_context,
        )
    return ssl_context


def client_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection keyword arguments for aiokafka clients (consumers, producers, admin):
    `bootstrap_servers` and `security_protocol`, plus `sasl_mechanism`,
    `sasl_plain_username`, `sasl_plain_password` (plain text) and `ssl_context` (None for
    SASL_PLAINTEXT) under SASL, or `ssl_context` alone under SSL. Raises as `credentials`."""
    k = settings.kafka
    creds = credentials(settings)
    kwargs: dict[str, Any] = {"bootstrap_servers": k.bootstrap_servers, "security_protocol": k.security_protocol}
    if k.security_protocol.startswith("SASL"):
        kwargs.update(
            sasl_mechanism=k.sasl_mechanism,
            sasl_plain_username=k.sasl_username,
            sasl_plain_password=k.sasl_password.get_secret_value() if k.sasl_password else None,
            ssl_context=getattr(creds, "ssl_context", None),
        )
    elif creds is not None:
        kwargs["ssl_context"] = creds
    return kwargs


def standalone_consumer(settings: Settings, *topics: str, **kwargs: Any) -> Any:
    """An aiokafka consumer outside the worker's consumer group (no group, no commits), not started.

    `topics` to subscribe (none: assign partitions yourself); `kwargs` go to AIOKafkaConsumer."""
    from aiokafka import AIOKafkaConsumer

    return AIOKafkaConsumer(*topics, group_id=None, enable_auto_commit=False, **kwargs, **client_kwargs(settings))


async def keep_consuming(
    settings: Settings, what: str, body: Callable[[Any], Awaitable[None]], *topics: str, **kwargs: Any
) -> None:
    """Run `body` on a fresh standalone consumer, and again after any failure (a broker
    outage), until cancelled."""
    while True:
        consumer = standalone_consumer(settings, *topics, **kwargs)
        try:
            await consumer.start()
            await body(consumer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - keep going through outages; the cause is logged
            # One kind per consumer, so the rate limit (streams/worker/logs.py) counts each apart.
            log.warning("%s failed (%s: %s); retrying", what, type(exc).__name__, exc, extra={"log_kind": f"{what} failed"})
            await asyncio.sleep(1.0)
        finally:
            try:
                await consumer.stop()
            except Exception:  # noqa: BLE001 - cleanup after a failed start must not mask its error
                pass
