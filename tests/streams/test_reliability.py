"""Crash recovery and scale-out against the real broker: the final values always equal replay.

- kill -9 a worker mid-stream and start a new one: it restores the partitions' checkpoints
  (state + offset in one record), skips what they already hold, and ends equal to replay.
- two workers in one group serve the same values as one worker in another group, from
  one exporting worker (no worker's share is ever served as a total); stopping one of
  the two mid-stream (a rebalance) still ends equal, on /metrics and in a real Prometheus
  scraping all of them.
"""

from __future__ import annotations

import time
from pathlib import Path

import orjson
import pytest

from streams.conventions import KPI_METRICS
from tests.streams.test_worker import END_STATE_KPIS, SLA_ENV, SLA_FLAGS, _replay_rows, assert_equal_to_replay, generated_events, replay_counts
from tests.streams.worker_harness import Scrape, Topics, Worker, produce

pytestmark = pytest.mark.integration

FAST_GROUP = {
    "KPI_SLA_TARGETS": SLA_ENV,
    "KPI_STATE__CHECKPOINT_INTERVAL": "1s",
    "KPI_KAFKA__SESSION_TIMEOUT": "6s",  # a killed worker's partitions move after 6 s, not 30
}
KPI_NAMES = {spec.name for spec in KPI_METRICS.values()}
INPUT_PARTITIONS = 16  # 4 topics x 4 partitions (Topics.create)


def _hot_team_tickets(start: float, n: int) -> list[bytes]:
    """One team with far more tickets than any other: a hot key if work were split by team."""
    out = []
    for i in range(n):
        tid = f"hot-{i}"
        created = start + i * 0.1
        out.append(orjson.dumps({"event_id": f"{tid}-c", "type": "ticket.created", "ts": created, "ticket_id": tid, "customer_id": f"hc{i}",
                                 "team": "hot", "channel": "phone", "priority": "high"}))
        out.append(orjson.dumps({"event_id": f"{tid}-x", "type": "ticket.resolved", "ts": created + 30 + i % 50, "ticket_id": tid, "agent_id": "h1"}))
    return out


def _events(tmp_path: Path, seed: int, count: int = 1000, rate: int = 10, hot_tickets: int = 0) -> tuple[list[bytes], list[dict], int]:
    """Generated events (with duplicates and malformed lines), quick tickets and `hot_tickets`
    tickets of one team; the replay's rows and accepted count."""
    events = tmp_path / "events.jsonl"
    generated_events(
        events, count=count, rate=rate, seed=seed, lead_seconds=150, duplicate_fraction=0.03, malformed_fraction=0.01,
        extra=lambda start: _hot_team_tickets(start, hot_tickets),
    )
    accepted = replay_counts(events)["accepted"]
    lines = [ln for ln in events.read_bytes().splitlines() if ln.strip()]
    # The hot team's tickets go first, so they are all in the first half that the tests produce.
    hot = [ln for ln in lines if b'"ticket_id":"hot-' in ln]
    lines = hot + [ln for ln in lines if b'"ticket_id":"hot-' not in ln]
    return lines, _replay_rows(events, *SLA_FLAGS), accepted


def _exporter(workers: list[Worker]) -> tuple[Worker, Scrape]:
    for w in workers:
        s = w.scrape()
        if s.get("cxkpi_exporter") == 1:
            return w, s
    raise AssertionError("no worker of the group is exporting")


def wait_group_caught_up(workers: list[Worker], timeout_seconds: float = 120.0) -> Scrape:
    """Until the group has no lag on any input partition and the exporter shows a complete,
    later evaluation; returns the exporter's scrape."""
    deadline = time.monotonic() + timeout_seconds
    caught_up_at = None
    while time.monotonic() < deadline:
        for w in workers:
            assert w.proc.poll() is None, f"worker exited with {w.proc.returncode}:\n{w.log()[-4000:]}"
        scrapes = [w.scrape() for w in workers]
        lags = [(labels, v) for s in scrapes for (name, labels), v in s.samples.items() if name == "cxkpi_consumer_lag_messages"]
        if len(lags) >= INPUT_PARTITIONS and all(v == 0 for _, v in lags):
            caught_up_at = caught_up_at or time.time()
            try:
                _, scrape = _exporter(workers)
            except AssertionError:
                scrape = None
            if scrape is not None and scrape.get("cxkpi_export_complete") == 1 and (scrape.get("cxkpi_export_evaluation_timestamp_seconds") or 0) > caught_up_at + 1:
                return scrape
        else:
            caught_up_at = None
        time.sleep(0.5)
    state = []
    for w in workers:
        s = w.scrape()
        lag = {labels: v for (name, labels), v in s.samples.items() if name == "cxkpi_consumer_lag_messages"}
        state.append(
            f"worker :{w.port}: exporter={s.get('cxkpi_exporter')} complete={s.get('cxkpi_export_complete')} "
            f"exported_at={s.get('cxkpi_export_evaluation_timestamp_seconds')} now={time.time():.1f} "
            f"lag entries={len(lag)} lagging={ {k: v for k, v in lag.items() if v} }"
        )
    logs = "\n".join(w.log()[-3000:] for w in workers)
    raise AssertionError(f"the group did not catch up in {timeout_seconds} s:\n" + "\n".join(state) + f"\n{logs}")


def _kpi_samples(scrape: Scrape) -> dict:
    return {
        key: v for key, v in scrape.samples.items()
        if key[0] in KPI_NAMES and not any(KPI_METRICS[k].name == key[0] for k in END_STATE_KPIS)
    }


def test_kill_9_mid_stream_then_restart_equals_replay(kafka, tmp_path):
    topics = Topics()
    topics.create(kafka.bootstrap_servers)
    lines, rows, accepted = _events(tmp_path, seed=31)
    q = len(lines) // 4
    group = f"{topics.prefix}-crash"

    first = Worker(kafka.bootstrap_servers, topics, tmp_path, FAST_GROUP, group=group)
    try:
        first.wait_ready()
        produce(kafka.bootstrap_servers, topics, lines[: 2 * q])
        wait_group_caught_up([first])
        written = first.scrape().total("cxkpi_checkpoints_total", outcome="written")
        assert written > 0, "no checkpoint was written before the crash"
        produce(kafka.bootstrap_servers, topics, lines[2 * q : 3 * q])
        time.sleep(0.3)  # part of it processed, part not, some of it not yet checkpointed
        before_kill = first.scrape()
        first.proc.kill()  # SIGKILL: no revoke, no final checkpoint, no commit
        first.proc.wait(10)
    finally:
        first.stop()
    processed_before_kill = before_kill.total("cxkpi_events_total")

    second = Worker(kafka.bootstrap_servers, topics, tmp_path, FAST_GROUP, group=group)
    try:
        second.wait_ready()
        produce(kafka.bootstrap_servers, topics, lines[3 * q :])
        scrape = wait_group_caught_up([second], timeout_seconds=150)
        log = second.log()
    finally:
        second.stop()

    restored = scrape.total("cxkpi_partition_restores_total", outcome="restored")
    skipped = scrape.total("cxkpi_reread_records_skipped_total")
    print(
        f"\nbefore kill -9: {processed_before_kill:.0f} records processed, {written:.0f}+ checkpoints; after restart: "
        f"{restored:.0f} partitions restored, {skipped:.0f} re-read records skipped as already in the state, "
        f"{scrape.total('cxkpi_events_total'):.0f} records processed"
    )
    assert restored > 0, log[-4000:]
    compared, kpis = assert_equal_to_replay(scrape, rows)
    assert compared > 300 and {"nps", "resolution_time_p90_seconds", "active_customers", "revenue"} <= kpis
    # Nothing counted twice: accepted counts in the windows equal the replay's (tickets
    # created, responses and orders are compared above); nothing lost: every record was seen.
    assert processed_before_kill + scrape.total("cxkpi_events_total") >= len(lines)


def _prometheus_kpis(prometheus) -> dict[str, dict]:
    """instance -> {(name, labels): value} of every windowed KPI series Prometheus holds now."""
    out: dict[str, dict] = {}
    end_state = {KPI_METRICS[k].name for k in END_STATE_KPIS}
    for sample in prometheus.query('{__name__=~"cxkpi_.+", window!=""}'):
        labels = dict(sample["metric"])
        name, instance = labels.pop("__name__"), labels.pop("instance")
        labels.pop("job", None)
        if name not in end_state:
            out.setdefault(instance, {})[(name, tuple(sorted(labels.items())))] = float(sample["value"][1])
    return out


def test_two_workers_equal_one_and_a_rebalance_mid_stream_changes_nothing(kafka, prometheus_factory, tmp_path):
    topics = Topics()
    topics.create(kafka.bootstrap_servers)
    lines, rows, _ = _events(tmp_path, seed=47, hot_tickets=300)
    half = len(lines) // 2
    one = Worker(kafka.bootstrap_servers, topics, tmp_path, FAST_GROUP, group=f"{topics.prefix}-one")
    pair = [Worker(kafka.bootstrap_servers, topics, tmp_path, FAST_GROUP, group=f"{topics.prefix}-two") for _ in range(2)]
    # One Prometheus scrapes all three workers, as a deployment would.
    prometheus = prometheus_factory([f"127.0.0.1:{w.port}" for w in (one, *pair)])
    try:
        for w in (one, *pair):
            w.wait_ready()
        produce(kafka.bootstrap_servers, topics, lines[:half])
        single = wait_group_caught_up([one])
        double = wait_group_caught_up(pair)

        # Both workers did a share of the ticket work although most tickets are one team's
        # (work is split by ticket id, not team), and only one serves KPI values.
        tickets = topics.name("tickets")
        shares = [w.scrape().total("cxkpi_events_total", topic=tickets) for w in pair]
        assert all(s > 0.25 * sum(shares) for s in shares), shares
        assert single.get("cxkpi_tickets_created", window="24h", team="hot") > 0.5 * single.get("cxkpi_tickets_created", window="24h")
        exporter, _ = _exporter(pair)
        other = next(w for w in pair if w is not exporter)
        assert not [k for k in other.scrape().samples if k[0] in KPI_NAMES], "a non-exporting worker serves KPI series"
        assert double.get("cxkpi_export_workers") == 2
        assert _kpi_samples(double) == pytest.approx(_kpi_samples(single), rel=1e-9, abs=1e-9)

        # Stop the exporter mid-stream: the other worker takes over its partitions (from
        # their checkpoints) and the exporter role.
        produce(kafka.bootstrap_servers, topics, lines[half : half + half // 2])
        exporter.stop()
        produce(kafka.bootstrap_servers, topics, lines[half + half // 2 :])
        single = wait_group_caught_up([one])
        double = wait_group_caught_up([other], timeout_seconds=150)

        # What Prometheus shows: the single worker's series and the pair's (now only the
        # survivor's; the stopped exporter's went stale) are the same values.
        instance_one, instance_two = f"127.0.0.1:{one.port}", f"127.0.0.1:{other.port}"
        deadline = time.monotonic() + 30
        while True:
            shown = _prometheus_kpis(prometheus)
            same = set(shown) == {instance_one, instance_two} and shown[instance_one] == pytest.approx(shown[instance_two], rel=1e-9, abs=1e-9)
            if same or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert set(shown) == {instance_one, instance_two}, sorted(shown)
        assert len(shown[instance_one]) > 300
        assert shown[instance_two] == pytest.approx(shown[instance_one], rel=1e-9, abs=1e-9)
    finally:
        for w in (one, *pair):
            w.stop()
    assert double.get("cxkpi_export_workers") == 1
    assert _kpi_samples(double) == pytest.approx(_kpi_samples(single), rel=1e-9, abs=1e-9)
    compared, _ = assert_equal_to_replay(double, rows)
    assert compared > 300
    assert_equal_to_replay(single, rows)
