"""`kpi-monitor worker`: consume the event topics and serve KPIs on /metrics."""

from __future__ import annotations

import argparse
import logging
import sys

EXIT_BAD_CONFIGURATION = 2
EXIT_KAFKA_UNUSABLE = 3  # unreachable, TLS or SASL refused, internal topics not creatable

EPILOG = """\
configuration: environment variables KPI_* (nested with __) and/or a TOML file:
  KPI_KAFKA__BOOTSTRAP_SERVERS=127.0.0.1:9092   KPI_WEB__PORT=6066
  KPI_TRAILING_WINDOWS='["5m","1h","24h"]'       KPI_GRACE=5m
  KPI_SLA_TARGETS='{"urgent":"4h","high":"8h","normal":"24h","low":"72h"}'
See docs/configuration.md for every setting. Secrets (SASL password, key password)
are never logged. A KPI_* variable or TOML key that names no setting, a value that does
not validate and a TOML syntax error each stop the worker with one "invalid
configuration" message naming the variable or file and line (exit 2).

exit codes: 0 stopped; 1 crashed; 2 invalid configuration; 3 Kafka unusable at start;
  4 a stop did not finish within shutdown_timeout (what was not written is logged);
  130/143 a second SIGINT/SIGTERM during a stop. docs/operations.md#exit-codes

examples:
  kpi-monitor worker
  kpi-monitor worker --config deploy/worker.toml
  KPI_WEB__PORT=6067 kpi-monitor worker      # a second worker in the same group
"""


def register(sub: argparse._SubParsersAction) -> None:
    """Add `kpi-monitor worker` to `sub`: --config (a TOML settings file, under the environment)
    and --skip-preflight; `func` is `run`."""
    p = sub.add_parser(
        "worker",
        help="run a stream worker: Kafka in, KPIs on /metrics out",
        description="Consume tickets, surveys, orders and customers from Kafka, keep KPI aggregates "
        "for the trailing windows and serve them on http://HOST:PORT/metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", metavar="FILE", help="TOML settings file (environment variables override it)")
    p.add_argument("--skip-preflight", action="store_true", help="do not check Kafka and topics before starting")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """`kpi-monitor worker`'s entry point: load and check the settings (2, the mistakes named, on
    invalid configuration), redact secrets from the logs, check Kafka and the topics (3 when
    unreachable or missing), create the internal checkpoint and partials topics (3 when that
    fails), then run the Faust worker until it stops: 0, or from its shutdown watchdog 4 when a
    stop outlasts `shutdown_timeout` and 128 + the signal's number on a second signal
    (streams/worker/shutdown.py, docs/operations.md#exit-codes)."""
    from kpi.errors import ConfigError
    from streams.settings_sources import load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as exc:  # the message names each mistake and where it was made
        print(f"kpi-monitor worker: {exc}", file=sys.stderr)
        return EXIT_BAD_CONFIGURATION

    from streams.worker.redaction import install_log_redaction

    install_log_redaction(settings.secret_values())  # before any library can log them
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("kpi_monitor.worker")
    log.info("settings: %s", settings.redacted())

    if not args.skip_preflight:
        from streams.worker.preflight import PreflightError, check_kafka

        try:
            check_kafka(settings)
        except PreflightError as exc:
            print(f"kpi-monitor worker: {exc}", file=sys.stderr)
            return EXIT_KAFKA_UNUSABLE

    import asyncio

    from streams.worker.topics import ensure_internal_topics

    try:
        created = asyncio.run(ensure_internal_topics(settings))
    except Exception as exc:  # noqa: BLE001 - any failure here is fatal and must say why
        print(
            f"kpi-monitor worker: cannot create the internal topics {settings.checkpoint_topic()} and "
            f"{settings.partials_topic()}: {type(exc).__name__}: {exc}. The worker's principal needs CREATE on them "
            "(or create them yourself, see docs/operations.md).",
            file=sys.stderr,
        )
        return EXIT_KAFKA_UNUSABLE
    if created:
        log.info("created internal topics %s", ", ".join(created))

    from streams.worker.app import create_app
    from streams.worker.shutdown import BoundedWorker, ShutdownWatchdog

    wired = create_app(settings)
    wired.log_filter.install()  # and again on the handlers Faust's logging setup makes (BoundedWorker)
    log.info("metrics on http://%s:%d/metrics", settings.web.host, settings.web.port)
    watchdog = ShutdownWatchdog(settings.shutdown_timeout_seconds(), wired.leftovers.describe)
    worker = BoundedWorker(
        wired.app, watchdog=watchdog, log_filter=wired.log_filter, loglevel=settings.log_level, quiet=True, redirect_stdouts=False,
    )
    worker.execute_from_commandline()  # exits: 0 stopped, 1 crashed; the watchdog exits 4, 130 or 143
    return 0
