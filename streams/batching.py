"""A batch path through faust-streaming: hand each fetched batch straight to the processor.

Faust's stock consumer loop costs ~80 us per record: for every record it wraps a
`wait_first(callback(message), suspend_flow.wait())` (two tasks), takes the conductor's
lock, builds an Event, and passes it through a channel queue to the agent's stream. This
consumer keeps everything else Faust does (group membership, partition assignment,
rebalances, seeking to committed offsets, offset commits, the web server, timers) and
replaces only that per-record loop: records of one partition go to a plain function as a
list, then their offsets are marked acknowledged in bulk, so Faust's own commit logic
commits them.

Offsets are not acknowledged to Faust, so Faust commits nothing: the worker commits a
partition's offset itself, right after writing the checkpoint that holds the state up to
that offset (streams/checkpoints.py). Should a partition ever be fetched from beyond the
offset its restored state expects, the consumer seeks back to it once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

# (topic, partition, records) where records have .offset, .value, .key, .timestamp
BatchHandler = Callable[[str, int, Sequence[Any]], None]
# (topic, partition) -> the offset a restored partition's first batch must start at, else None
ExpectedOffset = Callable[[str, int], "int | None"]
log = logging.getLogger("kpi_monitor.worker")


class BatchConsumer(faust_aiokafka.Consumer):
    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - run by Faust's Fetcher
        handler: BatchHandler = self.app.kpi_batch_handler  # type: ignore[attr-defined]
        expected_offset: ExpectedOffset = self.app.kpi_expected_offset  # type: ignore[attr-defined]
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        sought: dict[tuple[str, int], int] = self.app.kpi_sought_back  # type: ignore[attr-defined]
        restored: set = self.app.kpi_restored  # type: ignore[attr-defined]
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                records, active = await self._wait_next_records(1.0)
                if self.should_stop:
                    return
                if not records:
                    continue
                if not self.flow_active:
                    await self.perform_seek()  # as the stock getmany does: back to committed offsets
                    continue
                generation = self.app.consumer_generation_id
                for tp, batch in records.items():
                    if self.app.consumer_generation_id != generation or not self.flow_active:
                        break  # a rebalance started: drop the rest, it will be re-fetched
                    if active is not None and tp not in active and tp not in self._buffered_partitions:
                        continue
                    r_offset = read_offset[tp]
                    if r_offset is not None and batch[0].offset < r_offset:
                        batch = [r for r in batch if r.offset >= r_offset]
                        if not batch:
                            continue
                    if (tp.topic, tp.partition) not in restored:
                        await self.app.kpi_ensure_restored()  # type: ignore[attr-defined]
                        if self.app.consumer_generation_id != generation or (tp.topic, tp.partition) not in restored:
                            break  # reassigned meanwhile: re-fetched after the rebalance
                    # Only a restored partition's first batch is checked: later gaps are
                    # transaction markers or compaction, not missing records.
                    expected = expected_offset(tp.topic, tp.partition)
                    if expected is not None and batch[0].offset > expected:
                        key = (tp.topic, tp.partition)
                        if sought.get(key) != expected:
                            # Fetched from past the state's offset (a commit ran ahead of its
                            # checkpoint): go back rather than lose the records in between.
                            sought[key] = expected
                            log.warning("%s-%d: fetched from offset %d but the state ends at %d; seeking back", tp.topic, tp.partition, batch[0].offset, expected)
                            await self.seek(tp, expected)
                            continue
                        log.warning("%s-%d: offsets %d..%d are gone (retention); continuing without them", tp.topic, tp.partition, expected, batch[0].offset - 1)
                    handler(tp.topic, tp.partition, batch)
                    read_offset[tp] = batch[-1].offset
                await asyncio.sleep(0)  # let timers, scrapes and rebalances run between batches
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise


class BatchTransport(faust_aiokafka.Transport):
    Consumer = BatchConsumer


class BatchingApp(faust.App):
    """A Faust app whose consumer hands record batches to `kpi_batch_handler`."""

    kpi_batch_handler: BatchHandler

    def _new_transport(self) -> Any:
        return BatchTransport(self.conf.broker_consumer, self)
