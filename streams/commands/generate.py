"""`kpi-monitor generate`: synthetic contract-v1 events to a JSONL file or Kafka."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

import orjson

# Light: aiokafka is imported only when Kafka is the destination.
from streams.generator import (
    FaultConfig,
    GeneratorConfig,
    GeneratorRun,
    JsonlSink,
    RunLimits,
    TopicNames,
    parse_rfc3339_seconds,
)
from streams.generator.exceptions import ConfigError, SinkError
from streams.generator.progress import Progress, format_summary
from streams.generator.routing import LOGICAL_TOPICS
from streams.generator.timefmt import parse_cli_duration_seconds

DESCRIPTION = """\
Generate synthetic service-desk and customer events (event contract v1):
tickets with realistic, heavy-tailed response and resolution times, surveys
(NPS, CSAT, CES), checkouts and orders, signups, churn and feature usage.
Write them to a JSONL file (fast, no pacing) or to Kafka (paced in real time
so `ts` follows the wall clock), optionally with faults mixed in.

The same --seed and --start give byte-identical output. Without --seed a
random seed is used and printed in the summary, so any run can be repeated.
"""

DEFAULT_COUNT = 10_000

EPILOG = """\
examples:
  # 1M events into a file, as fast as possible, reproducible
  kpi-monitor generate --out /tmp/events.jsonl --count 1000000 --seed 42 \\
      --start 2024-05-01T00:00:00Z

  # a day of simulated traffic at 5 events/s, timestamps as epoch seconds
  kpi-monitor generate --out day.jsonl --duration 1d --rate 5 --ts-format epoch

  # live stream into a local broker for 10 minutes, 200 events/s
  kpi-monitor generate --bootstrap-servers localhost:9092 --duration 10m --rate 200

  # a messy stream: 1% duplicates, 2% late by 15 min, 5% shuffled, 0.5% malformed
  kpi-monitor generate --out messy.jsonl --count 100000 --duplicate-fraction 0.01 \\
      --late-fraction 0.02 --late-by 15m --out-of-order-fraction 0.05 \\
      --malformed-fraction 0.005

  # peek at a few events
  kpi-monitor generate --out - --count 5 --quiet

Durations accept plain seconds or a unit: 250ms, 90s, 10m, 2h, 1d.
See docs/generator.md for the model, the distributions and every fault.
"""


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add `kpi-monitor generate` to `subparsers`: the destination (a JSONL file or Kafka), how
    much and how fast, the content, the faults, Kafka and reporting flags; `func` is `main`."""
    parser = subparsers.add_parser(
        "generate",
        help="generate synthetic events to a JSONL file or Kafka",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dest = parser.add_argument_group("destination (one is required)")
    where = dest.add_mutually_exclusive_group(required=True)
    where.add_argument("--out", metavar="PATH", help="write JSONL to PATH ('-' for stdout)")
    where.add_argument(
        "--bootstrap-servers",
        metavar="HOST:PORT[,...]",
        help=f"send to Kafka; records go to the {', '.join(LOGICAL_TOPICS)} topics, "
        "keyed by ticket_id or customer_id",
    )

    volume = parser.add_argument_group("how much and how fast")
    amount = volume.add_mutually_exclusive_group()
    amount.add_argument(
        "--count", type=_non_negative_int, metavar="N", help=f"records to write (default: {DEFAULT_COUNT})"
    )
    amount.add_argument(
        "--duration",
        type=_duration,
        metavar="DURATION",
        help="simulated time to cover, e.g. 10m or 2h (wall time too with --realtime)",
    )
    volume.add_argument(
        "--rate",
        type=_positive_float,
        default=50.0,
        metavar="N",
        help="events per second of simulated time; duplicates and malformed "
        "records come on top (default: 50)",
    )
    volume.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="pace writes so ts follows the wall clock "
        "(default: on for Kafka, off for files)",
    )

    shape = parser.add_argument_group("content")
    shape.add_argument("--seed", type=int, metavar="N", help="random seed (default: random, printed)")
    shape.add_argument(
        "--start",
        metavar="RFC3339",
        help="simulated start time, e.g. 2024-05-01T00:00:00Z (default: now)",
    )
    shape.add_argument(
        "--ts-format",
        choices=("rfc3339", "epoch"),
        default="rfc3339",
        help="ts as RFC 3339 UTC text with milliseconds, or epoch seconds (default: rfc3339)",
    )
    shape.add_argument(
        "--max-open-tickets",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="cap on tickets in flight; bounds memory (default: 100000)",
    )
    shape.add_argument(
        "--max-customers",
        type=_positive_int,
        default=100_000,
        metavar="N",
        help="cap on live customers; bounds memory (default: 100000)",
    )

    faults = parser.add_argument_group(
        "faults (fractions from 0 to 1; counts are printed at the end)"
    )
    faults.add_argument(
        "--duplicate-fraction",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of records that repeat a recent record byte for byte (same event_id)",
    )
    faults.add_argument(
        "--late-fraction",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of surveys, orders, customer.active and feature.used events "
        "written --late-by after their ts",
    )
    faults.add_argument(
        "--late-by", type=_duration, default=600.0, metavar="DURATION", help="(default: 10m)"
    )
    faults.add_argument(
        "--out-of-order-fraction",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of events held back up to --out-of-order-horizon; each ticket's "
        "and customer's own events stay in order",
    )
    faults.add_argument(
        "--out-of-order-horizon",
        type=_duration,
        default=60.0,
        metavar="DURATION",
        help="(default: 60s)",
    )
    faults.add_argument(
        "--malformed-fraction",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of records that break the contract (bad JSON, missing field, "
        "wrong type, out-of-range score, unknown type, naive ts, ...)",
    )

    kafka = parser.add_argument_group("Kafka")
    kafka.add_argument(
        "--topic-prefix", default="", metavar="PREFIX", help="prepended to every topic name"
    )
    for topic in LOGICAL_TOPICS:
        kafka.add_argument(
            f"--topic-{topic}",
            metavar="NAME",
            help=f"topic for {topic} events (default: PREFIX{topic})",
        )
    kafka.add_argument(
        "--kafka-timeout",
        type=_duration,
        default=15.0,
        metavar="DURATION",
        help="give up if the broker does not answer within this (default: 15s)",
    )

    output = parser.add_argument_group("reporting")
    output.add_argument(
        "--quiet", "-q", action="store_true", help="no progress line (the summary is still printed)"
    )
    output.add_argument(
        "--summary-json", metavar="PATH", help="also write the run summary as JSON to PATH"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    """`kpi-monitor generate`'s entry point: build the generator's settings from the flags (2,
    the reason on stderr, when they are invalid), then generate and print the run's summary on
    stderr. Returns 0, or 1 when the sink fails (cannot connect, a write or a Kafka delivery
    fails); a reader that closes a piped stdout ends the run quietly with 0. aiokafka's retry
    logging is silenced meanwhile (the errors raised already say what failed)."""
    try:
        config, limits, topics = _settings(args)
    except ConfigError as exc:
        print(f"kpi-monitor generate: error: {exc}", file=sys.stderr)
        return 2
    # aiokafka logs every failed retry (thousands of lines when a broker
    # dies); the errors we raise already say what went wrong.
    aiokafka_logger = logging.getLogger("aiokafka")
    previous_level = aiokafka_logger.level
    aiokafka_logger.setLevel(logging.CRITICAL)
    try:
        return asyncio.run(_generate(args, config, limits, topics))
    finally:
        aiokafka_logger.setLevel(previous_level)


def _settings(args: argparse.Namespace) -> tuple[GeneratorConfig, RunLimits, TopicNames]:
    """Everything that can be checked before touching a file or a broker."""
    faults = FaultConfig(
        duplicate_fraction=args.duplicate_fraction,
        late_fraction=args.late_fraction,
        late_by_seconds=args.late_by,
        out_of_order_fraction=args.out_of_order_fraction,
        out_of_order_horizon_seconds=args.out_of_order_horizon,
        malformed_fraction=args.malformed_fraction,
    )
    to_kafka = args.bootstrap_servers is not None
    realtime = to_kafka if args.realtime is None else args.realtime
    if args.duration is not None:
        limits = RunLimits(duration_seconds=args.duration, realtime=realtime)
    else:
        count = args.count if args.count is not None else DEFAULT_COUNT
        limits = RunLimits(count=count, realtime=realtime)
    config = GeneratorConfig(
        seed=args.seed if args.seed is not None else secrets.randbelow(2**31),
        # Without --start this is replaced once the sink is open, see _generate.
        start_seconds=parse_rfc3339_seconds(args.start) if args.start else time.time(),
        rate_per_second=args.rate,
        ts_format=args.ts_format,
        faults=faults,
        max_open_tickets=args.max_open_tickets,
        max_customers=args.max_customers,
    )
    topics = TopicNames.with_prefix(
        args.topic_prefix, **{topic: getattr(args, f"topic_{topic}") for topic in LOGICAL_TOPICS}
    )
    return config, limits, topics


async def _generate(
    args: argparse.Namespace, config: GeneratorConfig, limits: RunLimits, topics: TopicNames
) -> int:
    kafka_sink = None
    try:
        if args.bootstrap_servers is not None:
            from streams.generator.kafka_sink import KafkaSink

            kafka_sink = await KafkaSink.connect(
                args.bootstrap_servers, timeout_seconds=args.kafka_timeout
            )
            sink: Any = kafka_sink
        else:
            sink = JsonlSink(args.out, flush_each_record=limits.realtime)
    except SinkError as exc:
        print(f"kpi-monitor generate: error: {exc}", file=sys.stderr)
        return 1

    if not args.start:
        # Now, after connecting: in real time `ts` then starts when the first
        # record is sent, not before a slow connect.
        config = dataclasses.replace(config, start_seconds=time.time())

    progress = Progress(
        sys.stderr,
        enabled=not args.quiet and sys.stderr.isatty(),
        start_seconds=config.start_seconds,
        count=limits.count,
        duration_seconds=limits.duration_seconds,
    )
    generator_run = GeneratorRun(config, limits, sink, topic_names=topics, progress=progress)
    status = 0
    reader_gone = False
    try:
        await generator_run.run()
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as `cat` would.
        _silence_stdout()
        reader_gone = True
    except SinkError as exc:
        print(f"kpi-monitor generate: error: {exc}", file=sys.stderr)
        status = 1
    finally:
        summary = generator_run.summary()
        for line in format_summary(summary):
            print(line, file=sys.stderr)
        if reader_gone:
            print("stopped early: the reader closed the output", file=sys.stderr)
        if kafka_sink is not None:
            print(
                f"kafka: {kafka_sink.acked:,} records acknowledged, {kafka_sink.failed:,} failed, "
                f"{kafka_sink.sent - kafka_sink.acked - kafka_sink.failed:,} unconfirmed",
                file=sys.stderr,
            )
        if args.summary_json:
            Path(args.summary_json).write_bytes(
                orjson.dumps(summary.as_dict(), option=orjson.OPT_INDENT_2)
            )
    return status


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


# -- argparse types: errors here become usage errors (exit 2) ----------------------


def _fraction(text: str) -> float:
    value = _float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number: {text}")
    return value


def _float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text}") from None


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def _positive_int(text: str) -> int:
    value = _non_negative_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _duration(text: str) -> float:
    try:
        value = parse_cli_duration_seconds(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value
