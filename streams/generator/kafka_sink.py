"""Kafka sink: an aiokafka producer with batching, acks=all and bounded waits.

Every wait on the broker (connect, back-pressure, final flush) is bounded by
`timeout_seconds`, so an unreachable or dying broker ends the run with a
SinkError instead of hanging it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from streams.generator.exceptions import SinkError, SinkUnavailable

DEFAULT_TIMEOUT_SECONDS = 15.0
# Batches fill in a few ms at generator speed; a short linger helps at low rates
# without delaying real-time streams noticeably.
DEFAULT_LINGER_MS = 20
DEFAULT_MAX_BATCH_BYTES = 256 * 1024


class KafkaSink:
    """Send records to Kafka. Create with `await KafkaSink.connect(...)`."""

    def __init__(self, producer: Any, bootstrap_servers: str, timeout_seconds: float) -> None:
        self._producer = producer
        self._timeout_seconds = timeout_seconds
        self._error: BaseException | None = None
        self._closed = False
        self.description = f"kafka {bootstrap_servers}"
        self.sent = 0
        self.acked = 0
        self.failed = 0

    @classmethod
    async def connect(
        cls,
        bootstrap_servers: str,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        linger_ms: int = DEFAULT_LINGER_MS,
        max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES,
        client_id: str = "kpi-monitor-generate",
        **producer_options: Any,
    ) -> KafkaSink:
        """Start a producer; SinkUnavailable if no broker answers within the timeout."""
        from aiokafka import AIOKafkaProducer  # heavy import, only when used

        timeout_ms = max(1, int(timeout_seconds * 1000))
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            acks="all",
            linger_ms=linger_ms,
            max_batch_size=max_batch_bytes,
            request_timeout_ms=timeout_ms,
            **producer_options,
        )
        try:
            await asyncio.wait_for(producer.start(), timeout_seconds)
        except Exception as exc:  # includes asyncio.TimeoutError
            await _stop_quietly(producer, timeout_seconds)
            reason = "timed out" if isinstance(exc, asyncio.TimeoutError) else str(exc) or type(exc).__name__
            raise SinkUnavailable(
                f"cannot reach Kafka at {bootstrap_servers} within {timeout_seconds:g} s: {reason}"
            ) from exc
        return cls(producer, bootstrap_servers, timeout_seconds)

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one record for `topic` (the producer batches; delivery is confirmed in the
        background and counted in `acked`/`failed`). Raises SinkError once any earlier delivery
        failed, or when the record cannot be queued (timeout, unknown topic, closed producer)."""
        if self._error is not None:
            raise SinkError(f"Kafka delivery failed: {self._error}") from self._error
        try:
            delivery = await self._producer.send(topic, value=value, key=key)
        except Exception as exc:  # KafkaTimeoutError, unknown topic, closed producer
            raise SinkError(f"cannot send to Kafka topic {topic!r}: {exc or type(exc).__name__}") from exc
        self.sent += 1
        delivery.add_done_callback(self._on_delivery)

    async def close(self) -> None:
        """Flush and stop the producer (idempotent), each step bounded by the sink's timeout.
        Raises SinkError when records are still unconfirmed after the timeout, or when any
        delivery failed."""
        if self._closed:
            return
        self._closed = True
        try:
            await asyncio.wait_for(self._producer.flush(), self._timeout_seconds)
        except asyncio.TimeoutError:
            unconfirmed = self.sent - self.acked - self.failed
            raise SinkError(
                f"Kafka did not confirm {unconfirmed} record(s) within {self._timeout_seconds:g} s"
            ) from None
        finally:
            await _stop_quietly(self._producer, self._timeout_seconds)
        if self._error is not None:
            raise SinkError(
                f"Kafka delivery failed for {self.failed} record(s): {self._error}"
            ) from self._error

    def _on_delivery(self, delivery: asyncio.Future[Any]) -> None:
        if delivery.cancelled():
            self.failed += 1
            return
        exc = delivery.exception()
        if exc is None:
            self.acked += 1
        else:
            self.failed += 1
            if self._error is None:
                self._error = exc


async def _stop_quietly(producer: Any, timeout_seconds: float) -> None:
    try:
        await asyncio.wait_for(producer.stop(), timeout_seconds)
    except Exception:  # already failing; the caller reports the first error
        pass
