"""A small Alertmanager webhook receiver that prints each alert it is sent as one line.

The demo runs one in a thread on the stack's webhook address (`--alert-webhook-url`,
default http://127.0.0.1:5001/alerts), so a newcomer sees alerts arrive in the demo's
terminal. Docker Compose runs the same code as a service:

    python -m streams.stack.alert_receiver --listen 0.0.0.0:5001

One line per alert, e.g.

    10:42:07 alert firing   KpiSlaBreachRatioHigh: SLA breach ratio 0.31 above 0.10 (urgent)

The payload is Alertmanager's webhook JSON (version 4): a group whose `alerts` each carry
`status` (firing or resolved), `labels` (`alertname`, ...) and `annotations` (`summary`).
Bounded: bodies over MAX_BODY_BYTES are refused (413), never read.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_BODY_BYTES = 1 << 20
DEFAULT_LISTEN = "127.0.0.1:5001"


def alert_lines(payload: Any, now: float | None = None) -> Iterator[str]:
    """'HH:MM:SS alert STATUS ALERTNAME: SUMMARY' for each alert of a webhook payload."""
    if not isinstance(payload, dict):
        return
    stamp = time.strftime("%H:%M:%S", time.localtime(time.time() if now is None else now))
    for alert in payload.get("alerts") or []:
        if not isinstance(alert, dict):
            continue
        labels = alert.get("labels") if isinstance(alert.get("labels"), dict) else {}
        annotations = alert.get("annotations") if isinstance(alert.get("annotations"), dict) else {}
        status = str(alert.get("status") or payload.get("status") or "?")
        name = str(labels.get("alertname", "(no alertname)"))
        summary = str(annotations.get("summary") or annotations.get("description") or "")
        yield f"{stamp} alert {status:<8} {name}" + (f": {summary}" if summary else "")


class AlertReceiver:
    """An HTTP server on `host:port` (0: a free port) handing each alert line to `emit`."""

    def __init__(self, host: str, port: int, emit: Callable[[str], None] | None = None) -> None:
        self._emit = emit or (lambda line: print(line, flush=True))
        emit_line = self._emit

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if not 0 <= length <= MAX_BODY_BYTES:
                    self.send_error(413 if length > MAX_BODY_BYTES else 411)
                    return
                try:
                    payload = json.loads(self.rfile.read(length))
                except ValueError:
                    self.send_error(400, "not JSON")
                    return
                for line in alert_lines(payload):
                    emit_line(line)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:  # the alert lines are the log
                pass

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) the receiver listens on: the port the system chose when it was created
        with port 0."""
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def start(self) -> AlertReceiver:
        """Serve in a daemon thread (the demo's); returns the receiver."""
        self._thread = threading.Thread(target=self._server.serve_forever, name="alert-receiver", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """In the foreground (the compose service); Ctrl-C or SIGTERM ends it."""
        try:
            self._server.serve_forever()
        finally:
            self._server.server_close()

    def stop(self) -> None:
        """Stop serving (waits up to 5 s for the thread) and close the socket; safe whether or
        not it was started."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
            self._thread = None
        self._server.server_close()


def main(argv: list[str] | None = None) -> int:
    """The receiver as a program (the Compose service): listen on --listen HOST:PORT until Ctrl-C
    or SIGTERM; 0. A malformed --listen is a usage error (exit 2)."""
    parser = argparse.ArgumentParser(description="Print each alert Alertmanager posts here, one line each.")
    parser.add_argument("--listen", default=DEFAULT_LISTEN, metavar="HOST:PORT",
                        help=f"where to listen (default {DEFAULT_LISTEN}; 0.0.0.0:5001 in a container)")
    args = parser.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    if not port.isdigit():
        parser.error(f"--listen {args.listen}: expected HOST:PORT")
    receiver = AlertReceiver(host or "0.0.0.0", int(port))  # noqa: S104 - the caller chose
    print(f"alert receiver: POST Alertmanager webhooks to http://{args.listen}/alerts", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `docker stop`: exit at once, cleanly
    try:
        receiver.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
