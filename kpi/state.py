"""Engine state as plain data: checkpoints for crash recovery, partial views for scale-out.

Each stateful class encodes and restores its own state as a typed structure
(`kpi.snapshots`); this module adds what a saved state needs around it: the format
version, the fingerprint of the configuration it was built under, and compression.

Explicit, versioned and JSON-shaped rather than pickled: a checkpoint is read back from a
Kafka topic, and unpickling bytes from a topic would let anyone who can write to it run
code in the worker. Everything is lossless, so a restored engine continues exactly as the
original would have (tests/kpi/test_state.py replays a stream split at random points
through encode/decode and compares with an uninterrupted engine, and restores a checkpoint
written by the first version of this format).

A checkpoint (what `streams/worker/engines.py` writes): `dumps({"offset": N, "engine":
engine_state(engine, specs)})`; read back with `restore_engine(loads(blob)["engine"], ...)`.
"""

from __future__ import annotations

import gc
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import msgspec

from kpi.config import EngineConfig, SeriesSpec
from kpi.engine import Engine, Stats
from kpi.errors import StateError
from kpi.series import WindowView
from kpi.snapshots import EngineSnapshot, StatsSnapshot, ViewSnapshot

__all__ = [
    "STATE_VERSION", "StateError", "add_stats", "config_fingerprint", "decode_view", "dumps", "encode_stats",
    "encode_view", "engine_state", "loads", "restore_engine",
]

# Version 1: the layout of kpi.snapshots (unchanged since the first checkpoint was written).
STATE_VERSION = 1
_ENVELOPE = ("version", "config")  # the keys engine_state adds around the engine's snapshot

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

# What well-typed but inconsistent parts of a state can raise while the classes rebuild
# themselves from it (a key that is missing, a list too short, a heap of mixed types, a
# number too large for a compiled i64, hex that is not hex; msgspec's errors are
# ValueErrors). Anything else (MemoryError, RecursionError, a bug) is not a corrupt state
# and propagates, rather than becoming a silent reset of the partition.
_INCONSISTENT_PARTS = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a state is built or taken apart.

    A large state is millions of new containers, none in a reference cycle; each
    allocation burst would otherwise trigger collections that walk the whole heap (the
    worker's other engines included): decoding 20 MB of checkpoint took 1.2-3 s with them,
    0.3 s without.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def config_fingerprint(config: EngineConfig, specs: tuple[SeriesSpec, ...]) -> list:
    """What a restored state must agree with (JSON-shaped); a changed setting means
    rebuilding the state from the input instead."""
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


def engine_state(engine: Engine, specs: tuple[SeriesSpec, ...]) -> dict[str, Any]:
    """The engine's state with its format version and configuration fingerprint.

    A dict (keys "version", "config" and the fields of `kpi.snapshots.EngineSnapshot`),
    ready for `dumps`. `specs` are the series the engine was built with.
    """
    with _gc_paused():
        snapshot = msgspec.structs.asdict(engine.snapshot())
    return {"version": STATE_VERSION, "config": config_fingerprint(engine.config, specs), **snapshot}


def restore_engine(state: Mapping[str, Any], config: EngineConfig, specs: tuple[SeriesSpec, ...]) -> Engine:
    """An engine that continues where the encoded one stopped.

    `state`: what `engine_state` returned, as is or read back by `loads`. Raises StateError,
    and only StateError, when the state is from another format version, from another
    configuration (`config` and `specs` must be the ones it was written under), or corrupt:
    a wrong shape or type anywhere (the message names the path, e.g. `$.series[0].heap`)
    or parts that do not fit together. What no input can cause (MemoryError,
    RecursionError, a bug) propagates as it is.
    """
    if not isinstance(state, Mapping):
        raise StateError(f"a state is a JSON object, got {type(state).__name__}")
    version = state.get("version")
    if version != STATE_VERSION:
        raise StateError(f"state format version {version!r}, this build reads {STATE_VERSION}")
    try:
        # Through JSON, as a checkpoint goes: tuples become lists on both sides.
        same_config = _decode(_encode(state.get("config"))) == _decode(_encode(config_fingerprint(config, specs)))
    except (TypeError, msgspec.EncodeError) as exc:
        raise StateError(f"unreadable configuration fingerprint: {exc}") from None
    if not same_config:
        raise StateError("the state was built with a different engine configuration")
    with _gc_paused():
        try:
            snapshot = msgspec.convert({k: v for k, v in state.items() if k not in _ENVELOPE}, EngineSnapshot)
        except msgspec.ValidationError as exc:
            raise StateError(f"corrupt state: {exc}") from None
        try:
            return Engine.from_snapshot(snapshot, config, specs)
        except StateError:
            raise
        except _INCONSISTENT_PARTS as exc:
            raise StateError(f"corrupt state: {type(exc).__name__}: {exc}") from None


def dumps(state: Mapping[str, Any]) -> bytes:
    """JSON (snapshots included), zlib-compressed at level 1 (fast; state is repetitive)."""
    with _gc_paused():
        return zlib.compress(_encode(state), 1)


def loads(blob: bytes) -> Any:
    """What `dumps` wrote, as plain JSON values (snapshots as objects and lists).

    Raises StateError for bytes that are not zlib-compressed JSON.
    """
    try:
        with _gc_paused():
            return _decode(zlib.decompress(blob))
    except (zlib.error, msgspec.DecodeError, TypeError) as exc:
        raise StateError(f"undecodable state ({len(blob)} bytes): {exc}") from None


# -- counters (the parallel replay sends them between processes) ----------------------------
def encode_stats(st: Stats) -> list:
    """An engine's counters as a JSON-shaped list (see kpi.snapshots.StatsSnapshot)."""
    return msgspec.to_builtins(st.snapshot())


def add_stats(st: Stats, encoded: Any) -> None:
    """Add counters from `encode_stats` to `st` (into a fresh Stats: restore them).

    Raises StateError when `encoded` is not such a list.
    """
    try:
        st.add(msgspec.convert(encoded, StatsSnapshot))
    except msgspec.ValidationError as exc:
        raise StateError(f"undecodable counters: {exc}") from None


# -- partial views (scale-out) ------------------------------------------------------------------
def encode_view(view: WindowView) -> list:
    """A window view as JSON-shaped lists, for a worker's partial (see kpi.snapshots.ViewSnapshot)."""
    return msgspec.to_builtins(view.snapshot())


def decode_view(obj: Any) -> WindowView:
    """The view `encode_view` encoded (after a JSON round trip, or as is).

    Raises StateError, and only StateError, for anything else.
    """
    try:
        return WindowView.from_snapshot(msgspec.convert(obj, ViewSnapshot))
    except msgspec.ValidationError as exc:
        raise StateError(f"undecodable view: {exc}") from None
