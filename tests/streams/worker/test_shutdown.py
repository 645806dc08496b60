"""The shutdown watchdog and its report, with a fake exit: the exit codes, the one line each
writes, and what it counts as not written. The proof on a real worker whose broker is down
(SIGTERM, then a second signal, then a restart equal to replay) is
tests/streams/test_broker_outage.py."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections import Counter

import pytest

from kpi.partial import TP
from streams.worker.shutdown import EXIT_SHUTDOWN_TIMED_OUT, AckTracker, Leftovers, ShutdownWatchdog
from tests.streams.worker.fakes import FakeProducer


class FakeExit:
    def __init__(self) -> None:
        self.codes: list[int] = []
        self.called = threading.Event()

    def __call__(self, code: int) -> None:
        self.codes.append(code)
        self.called.set()


def leftovers(dirty: list[TP], acks: AckTracker | None = None, unsent: Counter | None = None, durable: bool = True) -> Leftovers:
    return Leftovers(
        lambda: dirty, acks or AckTracker(FakeProducer()), lambda: unsent or Counter(),
        {"dlq": "dead letters", "app-partials": "partials"}, "app-checkpoints", durable,
    )


def test_past_the_deadline_the_watchdog_logs_what_is_left_and_exits_4(caplog: pytest.LogCaptureFixture) -> None:
    exit = FakeExit()
    watchdog = ShutdownWatchdog(0.2, lambda: "not written: checkpoints of 3 partitions", exit=exit)
    with caplog.at_level(logging.INFO, logger="kpi_monitor.worker"):
        watchdog.arm("SIGTERM received")
        assert exit.called.wait(30), "the watchdog never fired"
    assert exit.codes == [EXIT_SHUTDOWN_TIMED_OUT] == [4]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "shutdown did not finish within 0.2 s: not written: checkpoints of 3 partitions. Exiting with code 4" in errors[0]


def test_arming_again_keeps_the_first_deadline() -> None:
    now = [100.0]
    watchdog = ShutdownWatchdog(600, lambda: "", exit=FakeExit(), clock=lambda: now[0])
    watchdog.arm("SIGTERM received")
    now[0] = 105.0
    watchdog.arm("the worker stopped")
    assert watchdog.deadline == 700.0 and watchdog.remaining_seconds() == 595.0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_second_signal_exits_at_once_with_128_plus_its_number_and_one_line(caplog: pytest.LogCaptureFixture, signum: int, code: int) -> None:
    exit = FakeExit()
    watchdog = ShutdownWatchdog(600, lambda: "not sent: 2 dead letters", exit=exit)
    with caplog.at_level(logging.INFO, logger="kpi_monitor.worker"):
        watchdog.arm("SIGTERM received")
        caplog.clear()
        with pytest.raises(SystemExit):
            watchdog.exit_now(signum)
    assert exit.codes == [code]
    assert [r.getMessage() for r in caplog.records] == [
        f"{signal.Signals(signum).name} during shutdown: exiting at once with code {code}; not sent: 2 dead letters; "
        "the next start resumes from the last checkpoints"
    ]


def test_leftovers_count_changed_partitions_writes_in_flight_and_unsent_records_by_kind() -> None:
    acks = AckTracker(FakeProducer())
    acks.unacknowledged.update({b"tickets/2", b"tickets/0"})  # tickets-0 is also dirty: counted once
    unsent = Counter({"dlq": 12, "app-partials": 1, "app-checkpoints": 3, "elsewhere": 2})
    report = leftovers([TP("tickets", 0), TP("tickets", 1)], acks, unsent)
    # tickets-0, -1 (changed) and -2 (in flight): 3 partitions; the checkpoint topic's records
    # are those same checkpoints, so they are not counted again as records.
    assert report.unwritten_checkpoints() == 3
    assert report.describe() == "not written: checkpoints of 3 partitions; not sent: 12 dead letters, 1 partials, 2 records"
    assert leftovers([]).describe() == "everything written"


def test_without_checkpoints_none_is_reported_missing() -> None:
    assert leftovers([TP("tickets", 0)], durable=False).describe() == "everything written"


def test_a_checkpoint_write_stays_unacknowledged_until_a_later_one_succeeds() -> None:
    producer = FakeProducer()
    acks = AckTracker(producer)
    producer.fail_on = {b"tickets/0"}
    with pytest.raises(ConnectionError):
        asyncio.run(acks.send_and_wait("app-checkpoints", b"tickets/0", b"state"))
    assert acks.unacknowledged == {b"tickets/0"}
    producer.fail_on = set()
    asyncio.run(acks.send_and_wait("app-checkpoints", b"tickets/0", b"state"))
    assert acks.unacknowledged == set()


def test_a_report_that_fails_says_so_instead_of_raising() -> None:
    def broken() -> Counter:
        raise RuntimeError("dictionary changed size during iteration")

    report = Leftovers(lambda: [], AckTracker(FakeProducer()), broken, {}, "app-checkpoints")
    assert report.describe() == "(could not tell what is left: RuntimeError: dictionary changed size during iteration)"
