"""Engine state as plain data: checkpoints for crash recovery, partial views for scale-out.

Explicit, versioned and JSON-shaped rather than pickled: a checkpoint is read back from a
Kafka topic, and unpickling bytes from a topic would let anyone who can write to it run
code in the worker. Everything here is lossless, so a restored engine continues exactly
as the original would have (tests/kpi/test_state.py replays a stream split at random
points through encode/decode and compares with an uninterrupted engine).

Compact encodings: dicts with non-string keys become lists of pairs; label keys (tuples)
become lists; an empty sketch's +-inf extremes become null.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import orjson

from kpi.aggregates import Bucket, GroupAgg, LabelKey
from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine, Stats, _Customer, _Ticket
from kpi.series import EndState, Series, WindowView
from kpi.sketches import DistinctCounter, QuantileSketch

STATE_VERSION = 1
_NEG_INF = -math.inf


class StateError(ValueError):
    """A checkpoint or partial that cannot be decoded (corrupt, or from another version)."""


# -- sketches ------------------------------------------------------------------------------
def _enc_quantiles(s: QuantileSketch | None) -> list | None:
    if s is None:
        return None
    empty = s.n == 0
    return [s.zeros, s.n, None if empty else s.low, None if empty else s.high, [[i, c] for i, c in s.counts.items()]]


def _dec_quantiles(d: list | None) -> QuantileSketch | None:
    if d is None:
        return None
    s = QuantileSketch()
    s.zeros, s.n = d[0], d[1]
    s.low = math.inf if d[2] is None else d[2]
    s.high = -math.inf if d[3] is None else d[3]
    s.counts = {i: c for i, c in d[4]}
    return s


def _enc_distinct(c: DistinctCounter) -> list:
    if c.items is not None:
        return [0, sorted(c.items)]
    assert c.registers is not None
    return [1, c.registers.hex()]


def _dec_distinct(d: list) -> DistinctCounter:
    c = DistinctCounter()
    if d[0] == 0:
        c.items = set(d[1])
    else:
        c.items = None
        c.registers = bytearray.fromhex(d[1])
    return c


# -- aggregates ------------------------------------------------------------------------------
_GROUP_INTS = (
    "nps_n", "nps_promoters", "nps_detractors", "csat_n", "csat_satisfied", "ces_n", "ces_sum",
    "created", "resolved", "resolution_sum_us", "first_response_n", "first_response_sum_us", "fcr", "breached",
)


def _enc_group(g: GroupAgg) -> list:
    return [[getattr(g, f) for f in _GROUP_INTS], _enc_quantiles(g.resolution), _enc_quantiles(g.first_response)]


def _dec_group(d: list) -> GroupAgg:
    g = GroupAgg()
    for f, v in zip(_GROUP_INTS, d[0]):
        setattr(g, f, v)
    g.resolution = _dec_quantiles(d[1])
    g.first_response = _dec_quantiles(d[2])
    return g


def _pairs(d: dict) -> list:
    return [[list(k) if isinstance(k, tuple) else k, v] for k, v in d.items()]


def _label_dict(pairs: list) -> dict[LabelKey, Any]:
    return {tuple(k): v for k, v in pairs}


def encode_bucket(b: Bucket) -> list:
    return [
        [[list(k), _enc_group(g)] for k, g in b.groups.items()],
        _pairs(b.open_delta),
        _pairs(b.breached_open_delta),
        b.base_delta,
        b.checkouts,
        b.orders,
        b.revenue_micros,
        _enc_distinct(b.ordering_customers),
        _enc_distinct(b.active),
        [[f, _enc_distinct(c)] for f, c in b.features.items()],
        _pairs(b.churned_by_signup),
    ]


def decode_bucket(d: list) -> Bucket:
    b = Bucket()
    b.groups = {tuple(k): _dec_group(g) for k, g in d[0]}
    b.open_delta = _label_dict(d[1])
    b.breached_open_delta = _label_dict(d[2])
    b.base_delta, b.checkouts, b.orders, b.revenue_micros = d[3], d[4], d[5], d[6]
    b.ordering_customers = _dec_distinct(d[7])
    b.active = _dec_distinct(d[8])
    b.features = {f: _dec_distinct(c) for f, c in d[9]}
    b.churned_by_signup = {k: v for k, v in d[10]}
    return b


# -- series ---------------------------------------------------------------------------------
def _enc_end(e: EndState) -> list:
    return [_pairs(e.open_tickets), _pairs(e.breached_open_tickets), e.base_customers, e.stickiness, e.active_day, e.active_month]


def _dec_end(d: list) -> EndState:
    # DAU and MAU were added within version 1; older checkpoints have only the ratio.
    active_day, active_month = (d[4], d[5]) if len(d) > 5 else (0, 0)
    return EndState(_label_dict(d[0]), _label_dict(d[1]), d[2], d[3], active_day, active_month)


def _enc_series(s: Series) -> dict:
    out: dict[str, Any] = {
        "size": s.size_seconds,
        "buckets": [[k, encode_bucket(b)] for k, b in s.buckets.items()],
        "heap": list(s._heap),
        "closed_through": s.closed_through,
        "carry_open": _pairs(s._carry_open),
        "carry_breached": _pairs(s._carry_breached),
        "carry_base": s._carry_base,
        "ends": [[k, _enc_end(e)] for k, e in s._ends.items()],
        "stickiness": None,
    }
    t = s.stickiness
    if t is not None:
        out["stickiness"] = {
            "pending": [[k, sorted(v)] for k, v in t.pending.items()],
            "members": [[k, sorted(v)] for k, v in t.members.items()],
        }
    return out


def _restore_series(s: Series, d: dict) -> None:
    if d["size"] != s.size_seconds:
        raise StateError(f"series of {d['size']} s buckets in the state, {s.size_seconds} s configured")
    s.buckets = {k: decode_bucket(b) for k, b in d["buckets"]}
    s._heap = list(d["heap"])  # a valid heap stays one through a round trip (same order)
    s.closed_through = d["closed_through"]
    s._carry_open = _label_dict(d["carry_open"])
    s._carry_breached = _label_dict(d["carry_breached"])
    s._carry_base = d["carry_base"]
    s._ends = {k: _dec_end(e) for k, e in d["ends"]}
    # (Checkpoints written before DAU/MAU moved into the ends also carry "last_stickiness";
    # it is recomputed at every close, so it is not needed.)
    t, sd = s.stickiness, d["stickiness"]
    if (t is None) != (sd is None):
        raise StateError("stickiness tracking differs between the state and the configuration")
    if t is not None:
        t.pending = {k: set(v) for k, v in sd["pending"]}
        t.members = {k: set(v) for k, v in sd["members"]}
        t.last_bucket = {c: k for k, v in sd["members"] for c in v}


# -- engine ---------------------------------------------------------------------------------
def config_fingerprint(config: EngineConfig, specs: tuple[SeriesSpec, ...]) -> list:
    """What a restored state must agree with; a changed setting means rebuilding from the input."""
    return [
        [[s.bucket_seconds, s.retain_closed, s.stickiness] for s in specs],
        config.grace_seconds,
        sorted(config.sla.targets_seconds.items()),
        list(config.group_by),
        config.reporting_currency,
        sorted(config.fx_rates.items()),
        config.ticket_retention_seconds,
        config.max_customers,
        config.max_label_values,
        sorted((k, sorted(v)) for k, v in config.label_allow.items()),
    ]


def encode_stats(st: Stats) -> list:
    return [st.read, st.accepted, st.duplicates, dict(st.rejected), st.tickets_expired, st.customers_evicted]


def add_stats(st: Stats, encoded: list) -> None:
    """Add encoded counters to `st` (into a fresh Stats: restore them)."""
    read, accepted, duplicates, rejected, tickets_expired, customers_evicted = encoded
    st.read += read
    st.accepted += accepted
    st.duplicates += duplicates
    st.rejected.update(rejected)
    st.tickets_expired += tickets_expired
    st.customers_evicted += customers_evicted


def engine_state(engine: Engine, specs: tuple[SeriesSpec, ...]) -> dict:
    wm = engine.watermark.value
    return {
        "version": STATE_VERSION,
        "config": config_fingerprint(engine.config, specs),
        "watermark": None if wm == _NEG_INF else wm,
        "dedup": [[slot, ids] for slot, ids in engine._dedup._slots.items()],
        "next_dedup_expiry": None if engine._next_dedup_expiry == _NEG_INF else engine._next_dedup_expiry,
        "tickets": [
            [tid, t.created_ts, t.team, t.priority, [list(k) for k in t.keys], t.replies, t.reopened, t.open, t.breach_from, t.replied]
            for tid, t in engine._tickets.items()
        ],
        "ticket_expiry": [[at, tid] for at, tid in engine._ticket_expiry],
        "customers": [[cid, c.since, [[t, k] for t, k in c.recent]] for cid, c in engine._customers.items()],
        "labels": {dim: sorted(seen) for dim, seen in engine.labels._seen.items()},
        "stats": encode_stats(engine.stats),
        "series": [_enc_series(s) for s in engine.series],
    }


def restore_engine(state: dict, config: EngineConfig, specs: tuple[SeriesSpec, ...]) -> Engine:
    """An engine that continues where the encoded one stopped. Raises StateError when the
    state is from another format version or another configuration."""
    if state.get("version") != STATE_VERSION:
        raise StateError(f"state format version {state.get('version')!r}, this build reads {STATE_VERSION}")
    if state.get("config") != orjson.loads(orjson.dumps(config_fingerprint(config, specs))):
        raise StateError("the state was built with a different engine configuration")
    engine = Engine(config, series=specs)
    engine.watermark.value = _NEG_INF if state["watermark"] is None else state["watermark"]
    dedup = engine._dedup
    dedup._slots = {slot: list(ids) for slot, ids in state["dedup"]}
    dedup._seen = {i for _, ids in state["dedup"] for i in ids}
    engine._next_dedup_expiry = _NEG_INF if state["next_dedup_expiry"] is None else state["next_dedup_expiry"]
    tickets = {}
    for tid, created, team, priority, keys, replies, reopened, open_, breach_from, replied in state["tickets"]:
        t = _Ticket(created, team, priority, tuple(tuple(k) for k in keys), breach_from)
        t.replies, t.reopened, t.open, t.replied = replies, reopened, open_, replied
        tickets[tid] = t
    engine._tickets = tickets
    engine._ticket_expiry = [(at, tid) for at, tid in state["ticket_expiry"]]
    customers = {}
    for cid, since, recent in state["customers"]:
        c = _Customer()
        c.since = since
        c.recent = [(t, k) for t, k in recent]
        customers[cid] = c
    engine._customers = customers
    for dim, seen in state["labels"].items():
        engine.labels._seen[dim] = set(seen)
    add_stats(engine.stats, state["stats"])
    if len(state["series"]) != len(engine.series):
        raise StateError("the number of series differs between the state and the configuration")
    for s, d in zip(engine.series, state["series"]):
        _restore_series(s, d)
    return engine


def dumps(state: dict) -> bytes:
    return zlib.compress(orjson.dumps(state), 1)


def loads(blob: bytes) -> dict:
    try:
        return orjson.loads(zlib.decompress(blob))
    except (zlib.error, orjson.JSONDecodeError) as exc:
        raise StateError(f"undecodable state ({len(blob)} bytes): {exc}") from None


# -- partial views (scale-out) ------------------------------------------------------------------
def encode_view(v: WindowView) -> list:
    return [
        v.start_seconds, v.end_seconds, encode_bucket(v.flows), _pairs(v.open_tickets), _pairs(v.breached_open_tickets),
        v.base_customers, v.churned_from_base, v.active_day, v.active_month,
    ]


def decode_view(d: list) -> WindowView:
    active_day, active_month = d[7], d[8]
    return WindowView(
        d[0], d[1], decode_bucket(d[2]), _label_dict(d[3]), _label_dict(d[4]), d[5], d[6],
        active_day / active_month if active_month else None, active_day, active_month,
    )
