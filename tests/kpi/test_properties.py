"""Property tests on random valid streams: the naive reference, arrival order, partitioning.

And: decoding never raises, whatever the bytes.
"""

from __future__ import annotations

import json
import random
import zlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpi import contract
from kpi.config import EngineConfig, SeriesSpec
from kpi.contract import Decoder, Event, Rejected
from kpi.engine import Engine
from kpi.formulas import kpi_rows
from kpi.partitions import partition_of
from kpi.replay import WindowMerger, closed_views, replay, replay_partition, rows_of
from kpi.series import Series
from kpi.sla import SlaPolicy
from .kpi_reference import assert_rows_match, reference_rows
from .kpi_streamgen import SLA, arrival_order, generate, unique, with_duplicates
from .kpi_testkit import DAY0

SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
GRACE = 600
WINDOWS = st.sampled_from([900, 3600, 4 * 3600])


def config(window: int, group_by: tuple[str, ...] = ("team", "channel", "priority")) -> EngineConfig:
    return EngineConfig(window_seconds=window, grace_seconds=GRACE, sla=SlaPolicy(SLA), group_by=group_by)


def replay_rows(gens, cfg: EngineConfig) -> tuple[list[tuple], object]:
    rejects: list[Rejected] = []
    lines = [json.dumps(g.event).encode() for g in gens]
    rows_iter, engine = replay(lines, cfg, rejects.append)
    rows = [(r.kpi, r.window_start_seconds, tuple(sorted(r.labels.items())), r.value) for r in rows_iter]
    assert [r.reason for r in rejects] == [], rejects[:3]
    return rows, engine


def as_table(rows: list[tuple]) -> dict:
    table = {}
    for kpi, start, labels, value in rows:
        assert (kpi, start, labels) not in table
        table[(kpi, start, labels)] = value
    return table


def stream(rng: random.Random):
    hours = rng.randint(1, 30)
    start = DAY0 + rng.randrange(-3, 3) * 3600 + rng.choice([0, rng.randrange(3600)])
    return generate(rng, start, hours)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), window=WINDOWS, group_by=st.sampled_from([("team", "channel", "priority"), ("team",), ()]))
def test_replay_matches_the_naive_reference(seed: int, window: int, group_by: tuple[str, ...]) -> None:
    rng = random.Random(seed)
    gens = stream(rng)
    if not gens:
        return
    arrived = arrival_order(rng, with_duplicates(rng, gens), jitter_seconds=GRACE / 2)
    rows, engine = replay_rows(arrived, config(window, group_by))
    assert engine.stats.accepted == len(gens)
    assert engine.stats.duplicates == len(arrived) - len(gens)
    expected = reference_rows(unique(gens), window, SLA, group_by)
    assert_rows_match(as_table(rows), expected)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), window=WINDOWS)
def test_arrival_order_within_the_grace_does_not_change_the_output(seed: int, window: int) -> None:
    rng = random.Random(seed)
    gens = stream(rng)
    if not gens:
        return
    in_time = sorted(gens, key=lambda g: (g.t, int(g.event["event_id"][1:])))
    reference, _ = replay_rows(in_time, config(window))
    for _ in range(2):
        shuffled = arrival_order(rng, with_duplicates(rng, gens, share=0.1), jitter_seconds=GRACE * 0.99)
        rows, _ = replay_rows(shuffled, config(window))
        assert rows == reference


def _partition_of(event: dict, n: int) -> int:
    """Kafka-style routing: tickets by ticket_id, everything else by customer_id."""
    key = event["ticket_id"] if event["type"].startswith("ticket.") else event["customer_id"]
    return zlib.crc32(key.encode()) % n


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), window=WINDOWS, partitions=st.integers(2, 5))
def test_partitions_merged_bucket_by_bucket_equal_one_engine(seed: int, window: int, partitions: int) -> None:
    rng = random.Random(seed)
    gens = stream(rng)
    if not gens:
        return
    arrived = arrival_order(rng, with_duplicates(rng, gens), jitter_seconds=GRACE / 2)
    single, engine = replay_rows(arrived, config(window))

    # N engines, each seeing its partition in arrival order and keeping every bucket.
    cfg = config(window)
    engines = [Engine(cfg, series=(SeriesSpec(window, retain_closed=10**9),)) for _ in range(partitions)]
    for g in arrived:
        outcome = engines[_partition_of(g.event, partitions)].process_raw(json.dumps(g.event).encode())
        assert not isinstance(outcome, Rejected), outcome
    assert sum(e.stats.accepted for e in engines) == engine.stats.accepted

    # Merge the partial aggregates bucket by bucket into one series, then close it.
    merged = Series(window, stickiness=True)
    for e in engines:
        (series,) = e.series
        for k, bucket in series.buckets.items():
            target = merged.at(k)
            target.merge_flows(bucket)
            target.merge_deltas(bucket)
    for k, bucket in merged.buckets.items():
        for customer in bucket.active.items:
            merged.stickiness.active(k, customer)
    last = merged.index(engine.watermark.value)
    rows = []
    for k, bucket, end in merged.close_through_index(last):
        view = Series.closed_view(k, window, bucket, end)
        rows += [(kpi, view.start_seconds, tuple(sorted(labels.items())), value) for kpi, labels, value in kpi_rows(view)]
    assert rows == single


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), window=WINDOWS, partitions=st.integers(2, 4))
def test_a_replay_split_into_partitions_and_merged_equals_the_single_replay(seed: int, window: int, partitions: int) -> None:
    """What `kpi-monitor replay --jobs N` computes, driven in one process: the partitions
    advance in a random interleaving, and merged windows are taken whenever the merger
    offers them, so a window released before every partition closed it would show."""
    rng = random.Random(seed)
    gens = stream(rng)
    if not gens:
        return
    arrived = arrival_order(rng, with_duplicates(rng, gens), jitter_seconds=GRACE / 2)
    cfg = config(window)
    single, engine = replay_rows(arrived, cfg)

    lines = [json.dumps(g.event).encode() for g in arrived]
    merger = WindowMerger(partitions, cfg)
    parts = [replay_partition(lines, cfg, p, partitions) for p in range(partitions)]
    merged = []
    running = list(range(partitions))
    while running:
        p = rng.choice(running)
        view = next(parts[p][0], None)
        if view is None:
            running.remove(p)
        else:
            merger.add(p, view)
            merged += rows_of(merger.ready())
    engines = [e for _, e in parts]
    latest = max(e.watermark.value for e in engines)
    for p, e in enumerate(engines):
        e.flush(latest)
        for view in closed_views(e):
            merger.add(p, view)
        merger.finish(p)
        merged += rows_of(merger.ready())
    assert merger.pending_windows == 0
    assert [(r.kpi, r.window_start_seconds, tuple(sorted(r.labels.items())), r.value) for r in merged] == single
    assert sum(e.stats.accepted for e in engines) == engine.stats.accepted
    assert sum(e.stats.duplicates for e in engines) == engine.stats.duplicates


# --- decoding never raises -------------------------------------------------------------------
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
FIELDS = ["event_id", "type", "ts", "ticket_id", "customer_id", "team", "channel", "priority", "agent_id", "score",
          "order_id", "amount", "currency", "feature"]
TYPES = st.sampled_from(["ticket.created", "ticket.agent_replied", "ticket.resolved", "survey.nps", "survey.csat",
                         "survey.ces", "order.placed", "checkout.started", "feature.used", "customer.churned", "nope"])


VALID_LINES = [
    b'{"event_id":"e1","type":"ticket.created","ts":"2026-11-25T10:00:00.123Z","ticket_id":"t1","customer_id":"c1",'
    b'"team":"billing","channel":"email","priority":"urgent"}',
    b'{"event_id":"e2","type":"survey.nps","ts":1795600000.5,"customer_id":"c1","score":9,"team":null,"extra":[1,{"a":2}]}',
    b'{"event_id":"e3","type":"order.placed","ts":"2026-11-25T10:00:00+02:00","order_id":"o1","customer_id":"c1",'
    b'"amount":12.5,"currency":"USD"}',
    b'{"event_id":"e4","type":"feature.used","ts":"2026-11-25T10:00:00Z","customer_id":"c1","feature":"export"}',
]


@settings(max_examples=3000, deadline=None)
@given(line=st.sampled_from(VALID_LINES), edits=st.lists(st.tuples(st.integers(0, 200), st.binary(min_size=0, max_size=3)),
                                                          min_size=1, max_size=4))
def test_decode_never_raises_on_mutated_valid_lines(line: bytes, edits: list[tuple[int, bytes]]) -> None:
    """Random byte edits of valid events (what a fuzzer found a crash with): never an
    exception, and whatever the typed path accepts the slow path accepts the same way."""
    data = bytearray(line)
    for at, replacement in edits:
        at %= len(data) + 1
        data[at:at + len(replacement)] = replacement
    data = bytes(data)
    decoder = Decoder(fx_rates={"EUR": 1.5})
    result = decoder.decode(data)
    assert isinstance(result, (Event, Rejected))
    assert isinstance(Engine(EngineConfig()).process_raw(data), (str, Rejected))
    typed = decoder.typed(data)
    if typed is not None:
        slow = decoder.decode_slow(data)
        if not _beyond_a_double(slow):
            assert _summary(decoder.complete(data, typed)) == _summary(slow)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=200))
def test_decode_never_raises_on_arbitrary_bytes(data: bytes) -> None:
    result = Decoder().decode(data)
    assert isinstance(result, (Event, Rejected))
    if isinstance(result, Rejected):
        assert result.raw == data and result.reason


@settings(max_examples=300, deadline=None)
@given(etype=TYPES, fields=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=14),
       ts=st.one_of(st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=30),
                    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())))
def test_decode_never_raises_on_near_valid_objects(etype: str, fields: dict, ts) -> None:
    obj = {"event_id": "e", "type": etype, "ts": ts, **fields}
    data = json.dumps(obj).encode()
    result = Decoder(fx_rates={"EUR": 1.5}).decode(data)
    assert isinstance(result, (Event, Rejected))
    engine = Engine(EngineConfig())
    outcome = engine.process_raw(data)
    assert isinstance(outcome, Rejected) or outcome == "accepted"
    # The typed fast path accepts nothing the contract's own checks (the slow path) reject,
    # and decodes it to the same event.
    typed = Decoder.typed(data)
    if typed is not None:
        assert partition_of(typed, 3) in (0, 1, 2)
        fast = Decoder(fx_rates={"EUR": 1.5}).complete(data, typed)
        slow = Decoder(fx_rates={"EUR": 1.5}).decode_slow(data)
        if not _beyond_a_double(slow):
            assert _summary(fast) == _summary(slow)


def _beyond_a_double(slow: Event | Rejected) -> bool:
    """The one documented difference (docs/events.md): a number beyond a double (1e400) in a
    field the type does not use is valid JSON that msgspec skips and orjson refuses."""
    return isinstance(slow, Rejected) and slow.reason == contract.INVALID_JSON and "infinity" in slow.detail


def _summary(decoded: Event | Rejected) -> tuple:
    if isinstance(decoded, Rejected):
        return ("rejected", decoded.reason)
    return ("event", decoded.event_id, decoded.type, decoded.ts, decoded.body, decoded.amount_micros)


@settings(max_examples=300, deadline=None)
@given(ts=st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**13, 10**13),
                    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat())))
def test_any_accepted_time_has_formattable_windows(ts) -> None:
    from kpi.timestamps import format_ts

    result = Decoder().decode(json.dumps({"event_id": "e", "type": "customer.active", "ts": ts, "customer_id": "c"}).encode())
    if isinstance(result, Event):
        for size in (60, 3600, 86400):
            start = result.ts // size * size
            assert format_ts(start) <= format_ts(start + size)


# --- sketches against brute force -------------------------------------------------------------
DURATIONS = st.one_of(st.just(0.0), st.floats(1e-6, 1e7), st.integers(0, 10**6).map(float))


@settings(max_examples=200, deadline=None)
@given(values=st.lists(DURATIONS, min_size=1, max_size=300), q=st.floats(0, 1), cut=st.integers(0, 300))
def test_quantile_sketch_is_within_half_a_percent_and_merges_exactly(values: list[float], q: float, cut: int) -> None:
    import math

    from kpi.sketches import QuantileSketch

    ordered = sorted(values)
    truth = ordered[max(1, math.ceil(q * len(ordered))) - 1]
    whole, left, right = QuantileSketch(), QuantileSketch(), QuantileSketch()
    for i, v in enumerate(values):
        whole.add(v)
        (left if i < cut else right).add(v)
    left.merge(right)
    estimate = whole.quantile(q)
    assert abs(estimate - truth) <= 0.005 * truth * (1 + 1e-9)
    assert left.quantile(q) == estimate
    assert whole.quantile(0) == ordered[0] and whole.quantile(1) == ordered[-1]


@settings(max_examples=100, deadline=None)
@given(items=st.lists(st.text(min_size=1, max_size=6), max_size=300), cut=st.integers(0, 300))
def test_distinct_counter_is_exact_while_small_and_merges(items: list[str], cut: int) -> None:
    from kpi.sketches import DistinctCounter

    a, b, whole = DistinctCounter(), DistinctCounter(), DistinctCounter()
    for i, item in enumerate(items):
        whole.add(item)
        (a if i < cut else b).add(item)
    a.merge(b)
    assert whole.count() == a.count() == len(set(items))
