"""Drive simulation -> faults -> sink until the count or duration is reached."""

from __future__ import annotations

import asyncio
import math
import time

from streams.generator.config import GeneratorConfig, RunLimits
from streams.generator.faults import FaultInjector
from streams.generator.progress import Progress, RunSummary  # RunSummary is re-exported here
from streams.generator.routing import LOGICAL_TOPICS, TopicNames
from streams.generator.simulation import Simulation
from streams.generator.sinks import Sink
from streams.generator.timefmt import make_ts_formatter

# How often (in records) to draw progress and, when not pacing, let other
# tasks (the Kafka sender) run.
_CHECK_EVERY_RECORDS = 1024
# Sleeping for less than this costs more than it paces.
_MIN_SLEEP_SECONDS = 0.005


class GeneratorRun:
    """One run. `summary()` works at any time, so a caller can report what
    was written even when the run is interrupted."""

    def __init__(
        self,
        config: GeneratorConfig,
        limits: RunLimits,
        sink: Sink,
        *,
        topic_names: TopicNames | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config
        self.limits = limits
        self.sink = sink
        self.simulation = Simulation(config)
        self.injector = FaultInjector(
            config.faults, config.seed, make_ts_formatter(config.ts_format)
        )
        self._topics = (topic_names or TopicNames()).as_dict()
        self._progress = progress
        self._by_topic = dict.fromkeys(LOGICAL_TOPICS, 0)
        self._written = 0
        self._began: float | None = None
        self._finished: float | None = None
        self._interrupted = False

    async def run(self) -> RunSummary:
        """Generate into the sink and close it, also on error or interruption,
        so everything sent before a stop is flushed."""
        self._began = time.monotonic()
        try:
            await self._loop()
        except (KeyboardInterrupt, asyncio.CancelledError):
            self._interrupted = True
            raise
        finally:
            self._finished = time.monotonic()
            if self._progress is not None:
                self._progress.close()
            await self.sink.close()
        return self.summary()

    async def _loop(self) -> None:
        limits = self.limits
        start_seconds = self.config.start_seconds
        end_seconds = (
            start_seconds + limits.duration_seconds
            if limits.duration_seconds is not None
            else math.inf
        )
        count = limits.count if limits.count is not None else -1
        if count == 0:
            return
        realtime = limits.realtime
        injector = self.injector
        topics = self._topics
        by_topic = self._by_topic
        progress = self._progress
        began = self._began or time.monotonic()
        send = self.sink.send
        written = 0
        try:
            for record in injector.records(self.simulation):
                clock = injector.clock_seconds
                if clock >= end_seconds:
                    break
                if realtime:
                    # Wait for the wall clock to reach the event, so a record is
                    # not sent more than _MIN_SLEEP_SECONDS before its own `ts`.
                    ahead_seconds = (clock - start_seconds) - (time.monotonic() - began)
                    if ahead_seconds > _MIN_SLEEP_SECONDS:
                        await asyncio.sleep(ahead_seconds)
                await send(topics[record.topic], record.key, record.value)
                by_topic[record.topic] += 1
                written += 1
                if written == count:
                    break
                if realtime:
                    self._written = written
                    if progress is not None:
                        progress.update(written, clock)  # cheap; at low rates 1024 records is minutes
                elif written % _CHECK_EVERY_RECORDS == 0:
                    self._written = written
                    if progress is not None:
                        progress.update(written, clock)
                    await asyncio.sleep(0)
        finally:
            self._written = written

    def summary(self) -> RunSummary:
        """What the run wrote so far (or in all, once it has finished): the records, wall time,
        simulated span (capped at --duration), per-topic and per-type counts, the faults (events
        still held are counted as held at the end) and the simulation's counters."""
        config = self.config
        end = (
            config.start_seconds + self.limits.duration_seconds
            if self.limits.duration_seconds is not None
            else math.inf
        )
        began = self._began if self._began is not None else time.monotonic()
        finished = self._finished if self._finished is not None else time.monotonic()
        simulation = self.simulation
        return RunSummary(
            records=self._written,
            elapsed_seconds=finished - began,
            start_seconds=config.start_seconds,
            end_seconds=min(max(self.injector.clock_seconds, config.start_seconds), end),
            seed=config.seed,
            destination=self.sink.description,
            faults_requested=config.faults.any,
            faults=self.injector.finish(),
            records_by_topic=dict(self._by_topic),
            events_by_type=dict(sorted(simulation.type_counts.items())),
            simulation={
                **simulation.sizes(),
                "tickets_expired": simulation.tickets_expired,
                "tickets_not_opened": simulation.tickets_not_opened,
                "followups_skipped": simulation.followups_skipped,
            },
            interrupted=self._interrupted,
        )


async def run(
    config: GeneratorConfig,
    limits: RunLimits,
    sink: Sink,
    *,
    topic_names: TopicNames | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Generate into `sink` and close it; returns what was written."""
    return await GeneratorRun(
        config, limits, sink, topic_names=topic_names, progress=progress
    ).run()
