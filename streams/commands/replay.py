"""`kpi-monitor replay`: recompute KPIs from an event file, window by window."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Mapping
from typing import IO

import orjson

from kpi.config import GROUP_BY_DIMENSIONS, EngineConfig
from kpi.contract import Rejected
from kpi.errors import ConfigError
from kpi.replay import replay
from kpi.sla import SlaPolicy
from kpi.timestamps import format_ts
from kpi.windows import parse_duration_seconds
from streams.replay_input import DECOMPRESSION_ERRORS, open_events
from streams.replay_jobs import (
    AUTO_MAX_JOBS, CountedLines, ReplayJobError, auto_jobs, replay_parallel, splittable, usable_cores,
)

EPILOG = """\
output (stdout), one JSON object per KPI, window and label set:
  {"kpi": "nps", "window_start": "2026-11-25T10:00:00Z", "window_end": "2026-11-25T11:00:00Z",
   "labels": {"team": "billing"}, "value": 42.5}
  Overall rows have "labels": {}; adoption rows carry "feature". A value is null when
  its denominator is zero (no responses, no resolutions, ...).

examples:
  kpi-monitor replay events.jsonl
  kpi-monitor replay events.jsonl --window 5m --group-by team --dead-letter rejects.jsonl
  kpi-monitor generate --count 100000 --out - | kpi-monitor replay - --window 1d > kpis.jsonl
  kpi-monitor replay big.jsonl --jobs 4

--jobs splits the events by entity like Kafka partitions (tickets by ticket_id, the rest
by customer_id); each process reads the whole file and keeps its share, and the windows
are merged. The rows equal those of --jobs 1 when events arrive at most --grace out of
order, no event_id is reused for another ticket or customer, and no process goes a long
time without events of its own (docs/replay.md lists the conditions). With
--jobs > 1, dead letters come grouped by process: sort them by "line" for file order.

FILE may be gzip- or Zstandard-compressed (.gz, .zst; recognised by its first bytes, also
on stdin). A compressed file is replayed by one process: --jobs N > 1 says so and goes on
with 1 (decompress it first to use several).

The summary (events read, accepted, duplicates, rejected by reason) goes to stderr.
Exit code: 0 when the file was processed, even with some rejected lines; 2 when the file
cannot be read or an option is invalid; 3 when nearly every line was rejected (more than
90% of at least 10 events read, or all of them): not an event file, most likely
(a CSV export, the wrong format); stderr says why with the top reasons.
"""

EXIT_BAD_INPUT = 2
EXIT_MOSTLY_REJECTED = 3
# "Nearly all lines rejected": more than this share of the events read, once at least
# MOSTLY_REJECTED_MIN_EVENTS were read (fewer: only when every one was rejected).
MOSTLY_REJECTED_RATIO = 0.9
MOSTLY_REJECTED_MIN_EVENTS = 10


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "replay",
        help="recompute KPIs from a JSONL event file (backfill and audit)",
        description="Replay a JSON Lines event file through the KPI engine and print every KPI "
        "for every tumbling window (aligned to the Unix epoch, UTC).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE", help="JSON Lines event file (plain, .gz or .zst), or - for stdin")
    p.add_argument("--window", default="1h", help="tumbling window size: 1m, 5m, 1h, 1d ... (must divide a day; default 1h)")
    p.add_argument("--grace", default="5m", help="how far out of order events may arrive (default 5m); later events are rejected as late")
    p.add_argument(
        "--group-by", nargs="+", choices=GROUP_BY_DIMENSIONS, default=list(GROUP_BY_DIMENSIONS), metavar="DIM",
        help="breakdowns to report besides the overall rows, each on its own: "
        "team, channel, priority (default: all three)",
    )
    p.add_argument("--dead-letter", metavar="PATH", help="write each rejected line as JSON with reason, detail, line (number in the file) and raw")
    p.add_argument("--currency", default="USD", help="reporting currency (default USD)")
    p.add_argument("--fx", action="append", default=[], metavar="CUR=RATE", help="accept CUR, converted at RATE to the reporting currency (repeatable)")
    p.add_argument("--sla", action="append", default=[], metavar="PRIORITY=DURATION", help="resolution target, e.g. urgent=2h (repeatable; defaults urgent=4h high=8h normal=24h low=72h)")
    p.add_argument(
        "--jobs", default="auto", metavar="N",
        help=f"processes to replay with (default auto: 1 for stdin, pipes and files under 32 MiB, else one per core, up to {AUTO_MAX_JOBS})",
    )
    p.add_argument("--quiet", action="store_true", help="no progress or summary on stderr")
    p.set_defaults(func=run)


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        out[key] = value
    return out


def build_config(args: argparse.Namespace) -> EngineConfig:
    fx = {}
    for cur, rate in _pairs(args.fx, "--fx").items():
        try:
            fx[cur] = float(rate)
        except ValueError:
            raise ConfigError(f"--fx {cur}={rate}: the rate must be a number") from None
    sla = {k: parse_duration_seconds(v) for k, v in _pairs(args.sla, "--sla").items()}
    return EngineConfig(
        window_seconds=parse_duration_seconds(args.window),
        grace_seconds=parse_duration_seconds(args.grace),
        sla=SlaPolicy(sla),
        reporting_currency=args.currency,
        fx_rates=fx,
        group_by=tuple(dict.fromkeys(args.group_by)),
    )


class _Progress:
    """A line on stderr every couple of seconds, only when a person is watching."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.next_at = self.started + 2.0

    def tick(self, lines: int) -> None:
        now = time.monotonic()
        if self.enabled and now >= self.next_at:
            self.next_at = now + 2.0
            rate = lines / (now - self.started)
            print(f"\rreplay: {lines:,} lines, {rate:,.0f} lines/s", end="", file=sys.stderr, flush=True)

    def done(self) -> None:
        if self.enabled and time.monotonic() - self.started >= 2.0:
            print(file=sys.stderr)


def _jobs(args: argparse.Namespace) -> int:
    if args.jobs == "auto":
        if args.file == "-":
            return 1
        try:
            size = os.stat(args.file).st_size
        except OSError:
            return 1  # the open below reports the problem
        return auto_jobs(args.file, usable_cores(), size)
    try:
        jobs = int(args.jobs)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise ConfigError(f"--jobs must be a whole number >= 1 or auto, got {args.jobs!r}")
    why_not = splittable(args.file) if jobs > 1 else None
    if why_not is not None:
        raise ConfigError(f"--jobs > 1 needs a regular file that every process reads, but {why_not} (use --jobs 1)")
    return jobs


def run(args: argparse.Namespace) -> int:
    try:
        config = build_config(args)
        jobs = _jobs(args)  # before any open: opening a FIFO waits for a writer
    except ConfigError as exc:
        print(f"kpi-monitor replay: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        source, compression = open_events(args.file)
    except OSError as exc:
        print(f"kpi-monitor replay: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if compression is not None and jobs > 1:
        # Every process would have to decompress the whole file to find its share.
        if args.jobs != "auto" and not args.quiet:
            print(f"kpi-monitor replay: {args.file} is {compression}-compressed: replaying with 1 process, not {jobs} "
                  "(decompress it first to use several)", file=sys.stderr)
        jobs = 1
    dead: IO[bytes] | None = None
    if args.dead_letter:
        try:
            dead = open(args.dead_letter, "wb")  # noqa: SIM115
        except OSError as exc:
            print(f"kpi-monitor replay: cannot write {args.dead_letter}: {exc.strerror}", file=sys.stderr)
            return 2

    def dead_letter(rejected: Rejected, line: int) -> None:
        if dead is not None:
            raw = rejected.raw.rstrip(b"\r\n").decode("utf-8", "replace")
            dead.write(orjson.dumps({"reason": rejected.reason, "detail": rejected.detail, "line": line, "raw": raw}) + b"\n")

    progress = _Progress(enabled=not args.quiet and sys.stderr.isatty())
    out = sys.stdout.buffer
    start_cache: dict[int, str] = {}

    def ts(seconds: int) -> str:
        text = start_cache.get(seconds)
        if text is None:
            if len(start_cache) > 4096:
                start_cache.clear()
            text = start_cache[seconds] = format_ts(seconds)
        return text

    counted = CountedLines(source, progress.tick)
    try:
        if jobs == 1:
            rows, totals = replay(counted, config, lambda rejected: dead_letter(rejected, counted.lines))
        else:
            source.close()  # every process opens the file itself
            rows, totals = replay_parallel(args.file, config, jobs, dead_letter if dead is not None else None, progress.tick)
        write = out.write
        dumps = orjson.dumps
        for row in rows:
            write(dumps({"kpi": row.kpi, "window_start": ts(row.window_start_seconds), "window_end": ts(row.window_end_seconds), "labels": row.labels, "value": row.value}))
            write(b"\n")
        out.flush()
    except BrokenPipeError:
        # The reader (e.g. `head`) has gone; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except ReplayJobError as exc:
        print(f"kpi-monitor replay: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (OSError, *DECOMPRESSION_ERRORS) as exc:
        what = f"the {compression} stream of {args.file}" if compression else args.file
        print(f"kpi-monitor replay: error while reading {what}: {exc or type(exc).__name__}", file=sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        progress.done()
        if source is not sys.stdin.buffer:
            source.close()
        if dead is not None:
            dead.close()
    if not args.quiet:
        lines = counted.lines if jobs == 1 else totals.lines  # type: ignore[union-attr]
        _summary(totals.stats, lines, jobs)
    verdict = mostly_rejected(totals.stats.read, totals.stats.rejected)
    if verdict is not None:
        print(f"kpi-monitor replay: {args.file}: {verdict}", file=sys.stderr)
        return EXIT_MOSTLY_REJECTED
    return 0


def mostly_rejected(read: int, rejected: Mapping[str, int]) -> str | None:
    """Why the input is not an event file, when nearly all of it was rejected; else None.

    The rule: more than MOSTLY_REJECTED_RATIO of the events read were rejected and at least
    MOSTLY_REJECTED_MIN_EVENTS were read, or every event read was rejected. A few bad lines
    in a real export stay a summary line; a CSV file or a compressed file we cannot read
    as such is an error (exit 3).
    """
    total = sum(rejected.values())
    if read == 0 or not (total == read or (read >= MOSTLY_REJECTED_MIN_EVENTS and total > MOSTLY_REJECTED_RATIO * read)):
        return None
    top = sorted(rejected.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    reasons = ", ".join(f"{reason} {n:,}" for reason, n in top)
    return (f"{total:,} of {read:,} lines rejected ({reasons}); is this a JSONL event file? "
            "See docs/events.md for the format (one JSON object per line)")


def _summary(stats, lines: int, jobs: int) -> None:
    rejected = sum(stats.rejected.values())
    print(
        f"replay: {lines:,} lines, {stats.read:,} events read, {stats.accepted:,} accepted, "
        f"{stats.duplicates:,} duplicates, {rejected:,} rejected" + (f" ({jobs} processes)" if jobs > 1 else ""),
        file=sys.stderr,
    )
    for reason, n in sorted(stats.rejected.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"  rejected {reason}: {n:,}", file=sys.stderr)
