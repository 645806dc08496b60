"""Fail fast, with a message that says what to fix, before Faust starts retrying forever."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from streams.app import _credentials
from streams.settings import Settings


class PreflightError(RuntimeError):
    pass


async def _check(settings: Settings, timeout_seconds: float) -> None:
    k = settings.kafka
    creds = _credentials(settings)
    kwargs: dict = {"security_protocol": k.security_protocol}
    if k.security_protocol.startswith("SASL"):
        kwargs.update(
            sasl_mechanism=k.sasl_mechanism,
            sasl_plain_username=k.sasl_username,
            sasl_plain_password=k.sasl_password.get_secret_value() if k.sasl_password else None,
            ssl_context=getattr(creds, "ssl_context", None),
        )
    elif creds is not None:
        kwargs["ssl_context"] = creds
    consumer = AIOKafkaConsumer(bootstrap_servers=k.bootstrap_servers, request_timeout_ms=int(timeout_seconds * 1000), **kwargs)
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
    asyncio.run(_check(settings, timeout_seconds))
