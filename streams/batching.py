"""A batch path through faust-streaming: hand each fetched batch straight to the processor.

Faust's stock consumer loop costs ~80 us per record: for every record it wraps a
`wait_first(callback(message), suspend_flow.wait())` (two tasks), takes the conductor's
lock, builds an Event, and passes it through a channel queue to the agent's stream. This
consumer keeps everything else Faust does (group membership, partition assignment,
rebalances, seeking to committed offsets, offset commits, the web server, timers) and
replaces only that per-record loop: records of one partition go to a plain function as a
list, then their offsets are marked acknowledged in bulk, so Faust's own commit logic
commits them.

Records are acknowledged only after the handler returned, and offsets are committed by
Faust's usual `broker_commit_every` / `broker_commit_interval` rules, so delivery stays
at-least-once exactly as with the stock agent path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

# (topic, partition, records) where records have .offset, .value, .key, .timestamp
BatchHandler = Callable[[str, int, Sequence[Any]], None]


class BatchConsumer(faust_aiokafka.Consumer):
    async def _drain_messages(self, fetcher: Any) -> None:  # pragma: no cover - run by Faust's Fetcher
        handler: BatchHandler = self.app.kpi_batch_handler  # type: ignore[attr-defined]
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
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
                    handler(tp.topic, tp.partition, batch)
                    first, last = batch[0].offset, batch[-1].offset
                    if acks_enabled_for(tp.topic):
                        if r_offset and first - r_offset > 1:
                            await self._add_gap(tp, r_offset + 1, first)
                        # Offsets inside one fetch that carry no record (transaction markers,
                        # compaction) have nothing to process either: acknowledge the range.
                        self._acked[tp].extend(range(first, last + 1))
                        self._n_acked += last - first + 1
                    read_offset[tp] = last
                if commit_every is not None and self._n_acked >= commit_every:
                    self._n_acked = 0
                    await self.commit()
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
