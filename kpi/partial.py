"""One worker's share of the KPIs (its partial), and the wire codec that carries it between workers.

Pure data: the worker (streams/worker/) evaluates a `WorkerPartial` over the partitions it
owns, publishes `encode_partial(...)` to the partials topic, and the exporting worker decodes
every worker's partial and merges them (streams/worker/partials.py, with `kpi.merge`). The
checkpoint codec is `kpi.state`; a partial's window views use its `encode_view`/`decode_view`.

Wire format (version 1, unchanged since scale-out began): zlib (level 1) over the JSON object
`{"version", "worker", "generation", "anchor", "evaluated_at", "watermark",
"partitions": [[topic, partition], ...], "views": {window: encode_view(...)},
"sla": [[team, priority, open, breached, {horizon: n}], ...]}`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

import orjson

from kpi import state
from kpi.formulas import Row, kpi_rows
from kpi.series import WindowView
from kpi.sla import LiveSla

PARTIAL_VERSION = 1


class TP(NamedTuple):
    """One input partition, as Kafka names it. Equal to (and hashed like) the plain tuple
    `(topic, partition)`, and to Faust's and aiokafka's partition tuples."""

    topic: str
    partition: int


@dataclass
class KpiSnapshot:
    """KPI values as of one evaluation: what the exporting worker serves on /metrics.

    `windows`: trailing-window name (e.g. "5m") -> rows `(kpi name, labels, value)` from
    `kpi.formulas.kpi_rows` (value None: undefined, e.g. a zero denominator).
    `sla`: (team, priority) -> open tickets by SLA status at `evaluated_at` (wall clock, epoch seconds).
    `watermark`: the highest accepted event time (epoch seconds), None before any event.
    An empty snapshot (`evaluated_at == 0`) means nothing has been evaluated yet.
    """

    evaluated_at: float = 0.0
    watermark: float | None = None
    windows: dict[str, list[Row]] = field(default_factory=dict)
    sla: dict[tuple[str, str], LiveSla] = field(default_factory=dict)


@dataclass
class WorkerPartial:
    """One worker's share of the KPIs: the merged trailing-window views of the partitions it claims.

    `anchor`: the wall clock floored to the evaluation interval (epoch seconds); every worker
    evaluating in the same interval has the same anchor, so their views cover the same windows.
    `evaluated_at`: when it was evaluated (epoch seconds). `watermark`: the highest accepted
    event time over its partitions (epoch seconds), None before any event. `partitions`: the
    input partitions it claims, sorted. `views`: window name -> `WindowView`. `sla`:
    (team, priority) -> live SLA state of its open tickets.
    """

    anchor: float
    evaluated_at: float
    watermark: float | None
    partitions: list[TP]
    views: dict[str, WindowView]
    sla: dict[tuple[str, str], LiveSla]

    def snapshot(self) -> KpiSnapshot:
        """The KPI rows of every window (`kpi.formulas.kpi_rows`) and the live SLA state."""
        windows = {name: list(kpi_rows(view)) for name, view in self.views.items()}
        return KpiSnapshot(self.evaluated_at, self.watermark, windows, self.sla)


class PartialRecord(NamedTuple):
    """A partial as published: which worker sent it, in which consumer-group generation."""

    worker: str
    generation: int
    partial: WorkerPartial


def encode_partial(worker: str, generation: int, p: WorkerPartial) -> bytes:
    """The wire bytes of `p` (see the module docstring); tens of KiB for a busy worker."""
    return zlib.compress(
        orjson.dumps({
            "version": PARTIAL_VERSION,
            "worker": worker,
            "generation": generation,
            "anchor": p.anchor,
            "evaluated_at": p.evaluated_at,
            "watermark": p.watermark,
            "partitions": [list(tp) for tp in p.partitions],
            "views": {name: state.encode_view(v) for name, v in p.views.items()},
            "sla": [[team, priority, s.open, s.breached, s.at_risk] for (team, priority), s in p.sla.items()],
        }),
        1,
    )


def decode_partial(blob: bytes) -> PartialRecord:
    """Decode `encode_partial`'s bytes.

    Raises `kpi.state.StateError` (only) for anything else: not zlib, not JSON, another
    format version, or a well-formed document of the wrong shape. The bytes come from a
    topic anyone in the group can write to, so nothing here trusts them.
    """
    try:
        d = orjson.loads(zlib.decompress(blob))
        if type(d) is not dict or d.get("version") != PARTIAL_VERSION:
            version = d.get("version") if type(d) is dict else None
            raise state.StateError(f"partial format version {version!r}, this build reads {PARTIAL_VERSION}")
        partial = WorkerPartial(
            float(d["anchor"]),
            float(d["evaluated_at"]),
            d["watermark"],
            [TP(t, p) for t, p in d["partitions"]],
            {name: state.decode_view(v) for name, v in d["views"].items()},
            {(team, pr): LiveSla(o, b, dict(r)) for team, pr, o, b, r in d["sla"]},
        )
        return PartialRecord(str(d["worker"]), int(d["generation"]), partial)
    except state.StateError:
        raise
    except Exception as exc:  # noqa: BLE001 - any malformed shape is one undecodable partial
        raise state.StateError(f"undecodable partial: {type(exc).__name__}: {exc}") from None
