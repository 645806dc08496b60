"""The rate-limiting log filter, with a fake clock: which records pass, the counts they carry,
and the summary of what failed. The proof on a real outage (a worker's log while its broker
is down) is tests/streams/test_broker_outage.py."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from mode.utils.logging import ExtensionFormatter

from streams.worker.logs import RateLimiter, RateLimitFilter, kind_label, record_kind


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Lines(logging.Handler):
    """Collects the formatted lines a handler would write."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    log = logging.getLogger("tests.rate_limit")
    log.propagate = False
    log.setLevel(logging.DEBUG)
    yield log
    log.handlers.clear()


def test_a_kind_passes_once_per_interval_and_the_next_one_counts_the_held_back() -> None:
    clock = Clock()
    limiter = RateLimiter(5.0, clock)
    seen = []
    # Worked by hand: A passes at 0; 1, 2 and 4.9 are within 5 s of it (held back: 3); 5.0 is
    # 5 s after 0 (passes, carrying 3 over 5.0 s); 5.1 is held back; 11 passes carrying 1 over 6 s.
    for t, kind in [(0, "A"), (1, "A"), (1, "B"), (2, "A"), (4.9, "A"), (5.0, "A"), (5.1, "A"), (11, "A")]:
        clock.now = t
        admission = limiter.admit(kind)
        seen.append((t, kind, None if admission is None else (admission.held_back, admission.seconds)))
    assert seen == [
        (0, "A", (0, 0.0)), (1, "A", None), (1, "B", (0, 0.0)), (2, "A", None), (4.9, "A", None),
        (5.0, "A", (3, 5.0)), (5.1, "A", None), (11, "A", (1, 6.0)),
    ]
    assert limiter.totals() == {"A": 7, "B": 1}


def test_a_flood_of_one_kind_becomes_one_line_every_interval_with_its_count(logger: logging.Logger) -> None:
    clock = Clock()
    out = Lines()
    limiter = RateLimitFilter(5.0, clock=clock)
    out.addFilter(limiter)
    logger.addHandler(out)
    # 1,000 failures over 20 s, one every 20 ms (aiokafka's pace with a few clients): lines at
    # 0, 5, 10 and 15 s; each later line carries the 249 held back since the previous one.
    for i in range(1000):
        clock.now = i / 50
        logger.error("Unable connect to node with id %s: %s", 1, "[Errno 111] Connect call failed")
    first = "Unable connect to node with id 1: [Errno 111] Connect call failed"
    assert out.lines == [first] + [f"{first} [+249 more like this in the last 5 s]"] * 3


def test_records_below_warning_pass_untouched_and_uncounted(logger: logging.Logger) -> None:
    out = Lines()
    limiter = RateLimitFilter(5.0, clock=Clock())
    out.addFilter(limiter)
    logger.addHandler(out)
    for _ in range(3):
        logger.info("[^Worker]: Ready")
    assert out.lines == ["[^Worker]: Ready"] * 3
    assert limiter.summary(limiter.mark()) == "nothing" and not limiter.limiter.totals()


def test_one_decision_per_record_however_many_handlers_carry_the_filter(logger: logging.Logger) -> None:
    clock = Clock()
    limiter = RateLimitFilter(5.0, clock=clock)
    a, b = Lines(), Lines()
    for handler in (a, b):
        handler.addFilter(limiter)
        logger.addHandler(handler)
    for t in (0, 1, 6):
        clock.now = t
        logger.warning("publishing the partial failed: %s", "TimeoutError")
    expected = ["publishing the partial failed: TimeoutError", "publishing the partial failed: TimeoutError [+1 more like this in the last 6 s]"]
    assert a.lines == expected and b.lines == expected
    assert sum(limiter.limiter.totals().values()) == 3


def test_log_kind_splits_one_template_and_names_the_kind_in_the_summary(logger: logging.Logger) -> None:
    out = Lines()
    limiter = RateLimitFilter(5.0, clock=Clock())
    out.addFilter(limiter)
    logger.addHandler(out)
    mark = limiter.mark()
    for what in ("reading partials", "reading partials", "reading metadata"):
        logger.warning("%s failed (%s); retrying", what, "KafkaConnectionError", extra={"log_kind": f"{what} failed"})
    assert out.lines == ["reading partials failed (KafkaConnectionError); retrying", "reading metadata failed (KafkaConnectionError); retrying"]
    assert limiter.summary(mark) == "2 'reading partials failed', 1 'reading metadata failed'"


@pytest.mark.parametrize(
    ("template", "label"),
    [
        ("%s-%d: writing the checkpoint failed: %s: %s; retrying next interval", "writing the checkpoint failed"),
        ("Unable connect to node with id %s: %s", "Unable connect to node with id"),
        ("Heartbeat send request failed: %r. Will retry.", "Heartbeat send request failed"),
        ("producer buffer full size 4711", "producer buffer full size"),  # an f-string: digits are no kind
    ],
)
def test_a_kind_is_named_by_the_first_words_of_its_template(template: str, label: str) -> None:
    record = logging.LogRecord("aiokafka", logging.ERROR, __file__, 1, template, None, None)
    assert kind_label(record_kind(record)) == label


def test_the_summary_counts_every_kind_since_the_mark_most_frequent_first(logger: logging.Logger) -> None:
    clock = Clock()
    limiter = RateLimitFilter(5.0, clock=clock)
    out = Lines()
    out.addFilter(limiter)
    logger.addHandler(out)
    logger.error("Unable connect to node with id %s: %s", 1, "refused")  # before the mark: not in the summary
    mark = limiter.mark()
    for i in range(30):
        clock.now = 1 + i / 10
        logger.error("Unable connect to node with id %s: %s", 1, "refused")
        if i % 10 == 0:
            logger.warning("%s-%d: writing the checkpoint failed: %s: %s; retrying next interval", "tickets", i // 10, "TimeoutError", "")
    # 30 connection failures, 3 checkpoint failures, whether their lines passed or not.
    assert limiter.summary(mark) == "30 'Unable connect to node with id', 3 'writing the checkpoint failed'"


def test_the_kinds_tracked_are_bounded() -> None:
    limiter = RateLimiter(5.0, Clock(), max_kinds=3, overflow_kind="other")
    for kind in "ABCDE":
        limiter.admit(kind)
    assert limiter.totals() == {"A": 1, "B": 1, "C": 1, "other": 2}


def test_the_count_survives_faust_s_formatter_and_a_percent_sign(logger: logging.Logger) -> None:
    # mode's formatter (what the worker's handlers use) wraps args that are not a tuple; a
    # message already formatted must not be formatted again.
    clock = Clock()
    out = Lines()
    out.setFormatter(ExtensionFormatter(fmt="%(message)s"))
    out.addFilter(RateLimitFilter(5.0, clock=clock))
    logger.addHandler(out)
    for t in (0, 1, 5):
        clock.now = t
        logger.warning("disk %s%% full", 100)
    assert out.lines == ["disk 100% full", "disk 100% full [+1 more like this in the last 5 s]"]
