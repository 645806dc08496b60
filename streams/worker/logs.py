"""Bounded logging: at most one line per kind of failure every few seconds, with a count.

When Kafka goes away, aiokafka retries every ~100 ms and logs each failure, Faust and the
worker's own clients add theirs: ~150 lines/s with one broker, unbounded with more brokers
or consumers. Other faults flood the same way (a deleted checkpoint topic logs thousands of
errors a second). `RateLimitFilter` is the one place that bounds them, whichever library
logs:

    limiter = RateLimitFilter()          # one line per kind every FAILURE_LOG_INTERVAL_SECONDS
    limiter.install()                    # on every handler of the root logger, now
    ...                                  # reinstall if something replaces the handlers
    mark = limiter.mark()                # later: what failed since then, one line
    log.info("back after %.1f s; failed meanwhile: %s", seconds, limiter.summary(mark))

What counts as one kind: by default the logger, the level and the message template (the
unformatted `msg`, digits ignored, so f-string messages still group). Give a record an
explicit kind with `extra={"log_kind": "reading partials"}`: records of one template then
split by that kind, and the summary names it. Records below WARNING pass untouched.

The first record of a kind passes at once. Later ones pass at most once per interval; the
one that passes carries the count of those held back, e.g. "Unable connect to node with id
1: ... [+41 more like this in the last 5 s]". A summary (`summary(mark)`) reports every
kind's count since a `mark()`, including the held-back records no later line reported.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass

# At most one line per kind of failure every this many seconds (docs/operations.md).
FAILURE_LOG_INTERVAL_SECONDS = 5.0
# Distinct kinds tracked; beyond this (libraries logging pre-formatted varying text) new
# kinds share one, so the filter's memory stays bounded.
MAX_KINDS = 1000
OVERFLOW_KIND = ("", 0, "(other messages)")
# A summary names at most this many kinds (most frequent first) and counts the rest.
SUMMARY_KINDS = 8

_DIGITS = re.compile(r"\d+")
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[sdrfgxXieEc%]")
_SEPARATORS = re.compile(r"[:;(\[]")
_DECIDED = "_kpi_rate_limit_admitted"


@dataclass(frozen=True, slots=True)
class Admission:
    """An event of some kind may pass: `held_back` events of that kind were suppressed
    in the `seconds` since the previous one passed (0 and 0.0 for the first)."""

    held_back: int
    seconds: float


class RateLimiter:
    """Admits at most one event per kind every `interval_seconds`, counting the rest.

    `clock` gives monotonic seconds (injectable for tests). Thread-safe: aiokafka's consumer
    logs from its own thread. Holds at most `max_kinds` kinds; events of further kinds are
    counted as `overflow_kind`.
    """

    def __init__(
        self,
        interval_seconds: float = FAILURE_LOG_INTERVAL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = MAX_KINDS,
        overflow_kind: Hashable = OVERFLOW_KIND,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError(f"interval_seconds must be positive, got {interval_seconds}")
        self.interval_seconds = interval_seconds
        self._clock = clock
        self._max_kinds = max_kinds
        self._overflow_kind = overflow_kind
        self._lock = threading.Lock()
        self._last_admitted: dict[Hashable, float] = {}
        self._held_back: Counter = Counter()
        self._totals: Counter = Counter()

    def admit(self, kind: Hashable) -> Admission | None:
        """Count an event of `kind`; an `Admission` if it may pass now, None if it is held back."""
        now = self._clock()
        with self._lock:
            if kind not in self._last_admitted and len(self._last_admitted) >= self._max_kinds:
                kind = self._overflow_kind
            self._totals[kind] += 1
            last = self._last_admitted.get(kind)
            if last is not None and now - last < self.interval_seconds:
                self._held_back[kind] += 1
                return None
            self._last_admitted[kind] = now
            held_back = self._held_back.pop(kind, 0)
            return Admission(held_back, 0.0 if last is None else now - last)

    def totals(self) -> Counter:
        """Every event counted so far, per kind (passed and held back); a copy."""
        with self._lock:
            return Counter(self._totals)


def record_kind(record: logging.LogRecord) -> Hashable:
    """A record's kind: its `log_kind` extra if given, else (logger, level, template without digits)."""
    explicit = getattr(record, "log_kind", None)
    template = _DIGITS.sub("%d", str(record.msg))  # a placeholder, so labels drop it too
    if explicit is not None:
        return (record.name, record.levelno, template, str(explicit))
    return (record.name, record.levelno, template)


def kind_label(kind: Hashable) -> str:
    """A short name for a kind in summaries: the explicit `log_kind`, else the first words of
    its template (placeholders dropped: "%s-%d: writing the checkpoint failed: %s" gives
    "writing the checkpoint failed")."""
    if isinstance(kind, tuple) and len(kind) == 4:
        return str(kind[3])
    template = str(kind[2]) if isinstance(kind, tuple) and len(kind) == 3 else str(kind)
    text = _PLACEHOLDER.sub("", template)
    for part in _SEPARATORS.split(text):
        part = " ".join(part.split()).strip(" -.,")
        if any(c.isalpha() for c in part):
            return part[:60]
    return " ".join(text.split())[:60]


class RateLimitFilter(logging.Filter):
    """A logging filter that passes at most one record per kind (`record_kind`) every
    `interval_seconds`; the one that passes gets " [+N more like this in the last S s]"
    appended when N records of its kind were held back. Records below `min_level` pass
    untouched and uncounted. Install it on handlers (`install`), not loggers: a logger's
    filters never see records from its child loggers, a handler's see every record.
    """

    def __init__(
        self,
        interval_seconds: float = FAILURE_LOG_INTERVAL_SECONDS,
        min_level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.limiter = RateLimiter(interval_seconds, clock)
        self.min_level = min_level

    @property
    def interval_seconds(self) -> float:
        """The least time between two lines of one kind."""
        return self.limiter.interval_seconds

    def filter(self, record: logging.LogRecord) -> bool:
        """Whether `record` is written (logging's filter protocol); may append the held-back count to it."""
        if record.levelno < self.min_level:
            return True
        # One decision per record, however many handlers carry this filter.
        decided = getattr(record, _DECIDED, None)
        if decided is not None:
            return bool(decided)
        admission = self.limiter.admit(record_kind(record))
        setattr(record, _DECIDED, admission is not None)
        if admission is None:
            return False
        if admission.held_back:
            try:
                message = record.getMessage()
            except Exception:  # noqa: BLE001 - a broken format string is the handler's to report
                return True
            record.msg = f"{message} [+{admission.held_back} more like this in the last {admission.seconds:.0f} s]"
            record.args = ()  # not None: mode's formatter would wrap it into (None,)
        return True

    def install(self, logger: logging.Logger | None = None) -> None:
        """Add this filter to every handler of `logger` (default: the root logger); idempotent.
        Call it again after anything replaces the handlers (Faust's worker does, at start)."""
        for handler in (logger or logging.getLogger()).handlers:
            if self not in handler.filters:
                handler.addFilter(self)

    def mark(self) -> Counter:
        """The counts so far, to pass to `summary` later."""
        return self.limiter.totals()

    def counts_since(self, mark: Counter) -> Counter:
        """Records counted since `mark`, per kind."""
        return self.limiter.totals() - mark

    def summary(self, mark: Counter) -> str:
        """The records counted since `mark`, as "41 'Unable connect to node with id', 3 'writing
        the checkpoint failed', ... and 5 more of 2 other kinds" (most frequent first), or "nothing"."""
        counts = self.counts_since(mark).most_common()
        if not counts:
            return "nothing"
        shown = [f"{n} {kind_label(kind)!r}" for kind, n in counts[:SUMMARY_KINDS]]
        rest = counts[SUMMARY_KINDS:]
        if rest:
            shown.append(f"and {sum(n for _, n in rest)} more of {len(rest)} other kinds")
        return ", ".join(shown)
