"""A batch path through faust-streaming: hand each fetched batch straight to the engines.

Faust's stock consumer loop costs ~80 us per record: for every record it wraps a
`wait_first(callback(message), suspend_flow.wait())` (two tasks), takes the conductor's
lock, builds an Event, and passes it through a channel queue to the agent's stream. This
consumer keeps everything else Faust does (group membership, partition assignment,
rebalances, seeking to committed offsets, the web server, timers) and replaces only that
per-record loop: records of one partition go to a plain function as a list.

Offsets are not acknowledged to Faust, so Faust commits nothing: the worker commits a
partition's offset itself, right after writing the checkpoint that holds the state up to
that offset (streams/worker/checkpoints.py). Should a partition ever be fetched from beyond
the offset its restored state expects, the consumer seeks back to it once (`FirstOffsets`).

The consumer talks to the worker only through one typed `BatchHooks` object, given to the
app with `BatchingApp.use_hooks`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka

from kpi.partial import TP
from streams.worker.first_offsets import FirstOffsets

log = logging.getLogger("kpi_monitor.worker")

# (topic, partition, records) where records have .offset and .value (and .key, .timestamp)
BatchHandler = Callable[[str, int, Sequence[Any]], object]


@dataclass
class BatchHooks:
    """Everything the batch consumer needs from the worker.

    `handle_batch(topic, partition, records)`: fold a partition's records (offset order) into
    its state; must not raise on bad input. `is_restored(tp)`: whether `tp`'s checkpointed
    state is installed. `ensure_restored()`: install the state of every assigned partition
    not yet restored (raises if the checkpoints cannot be read). `first_offsets`: the
    seek-back bookkeeping, the very instance the restores feed (the `CheckpointStore`'s):
    no default, so a consumer cannot silently read one nobody writes.
    """

    handle_batch: BatchHandler
    is_restored: Callable[[TP], bool]
    ensure_restored: Callable[[], Awaitable[None]]
    first_offsets: FirstOffsets


def unread(batch: Sequence[Any], read_offset: int | None) -> Sequence[Any]:
    """The records of `batch` at or after `read_offset` (Faust's last read offset; None: all),
    as Faust's stock loop keeps them after a seek re-fetches what it had read."""
    if read_offset is not None and batch[0].offset < read_offset:
        return [r for r in batch if r.offset >= read_offset]
    return batch


class BatchConsumer(faust_aiokafka.Consumer):
    """Faust's aiokafka consumer with its per-record drain loop replaced by a per-batch one."""

    async def _drain_messages(self, fetcher: Any) -> None:
        hooks = cast(BatchingApp, self.app).batch_hooks
        if hooks is None:
            raise RuntimeError("BatchingApp started without BatchHooks (call use_hooks before starting it)")
        handle_batch, is_restored, first_offsets = hooks.handle_batch, hooks.is_restored, hooks.first_offsets
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
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
                    batch = unread(batch, read_offset[tp])
                    if not batch:
                        continue
                    key = TP(tp.topic, tp.partition)
                    if not is_restored(key):
                        await hooks.ensure_restored()
                        if self.app.consumer_generation_id != generation or not is_restored(key):
                            break  # reassigned meanwhile: re-fetched after the rebalance
                    seek_to = first_offsets.seek_back_to(key, batch[0].offset)
                    if seek_to is not None:
                        await self.seek(tp, seek_to)
                        continue
                    handle_batch(tp.topic, tp.partition, batch)
                    first_offsets.handed_over(key, batch[-1].offset)
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
    """Faust's aiokafka transport with the `BatchConsumer`."""

    Consumer = BatchConsumer


class BatchingApp(faust.App):
    """A Faust app whose consumer hands record batches to `batch_hooks` (set with `use_hooks`)."""

    batch_hooks: BatchHooks | None = None

    def use_hooks(self, hooks: BatchHooks) -> None:
        """Connect the batch consumer to the worker; before the app starts."""
        self.batch_hooks = hooks

    def _new_transport(self) -> Any:
        return BatchTransport(self.conf.broker_consumer, self)
