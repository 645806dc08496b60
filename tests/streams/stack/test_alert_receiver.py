"""The alert receiver the demo runs (and compose runs as a service): one line per alert."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest

from streams.stack.alert_receiver import MAX_BODY_BYTES, AlertReceiver, alert_lines

# Alertmanager's webhook payload (version 4), trimmed to what the receiver reads.
PAYLOAD = {
    "version": "4",
    "status": "firing",
    "alerts": [
        {"status": "firing", "labels": {"alertname": "KpiSlaBreachRatioHigh", "priority": "urgent"},
         "annotations": {"summary": "SLA breach ratio 0.31 above 0.10 (urgent)"}},
        {"status": "resolved", "labels": {"alertname": "KpiWorkerDown"}, "annotations": {}},
    ],
}


def test_one_line_per_alert_with_status_name_and_summary() -> None:
    assert list(alert_lines(PAYLOAD, now=0)) == [
        f"{_clock(0)} alert firing   KpiSlaBreachRatioHigh: SLA breach ratio 0.31 above 0.10 (urgent)",
        f"{_clock(0)} alert resolved KpiWorkerDown",
    ]


@pytest.mark.parametrize("payload", [None, [], {"alerts": None}, {"alerts": ["x", 3]}, "text"])
def test_odd_payloads_print_nothing_and_do_not_raise(payload: object) -> None:
    assert list(alert_lines(payload)) == []


def _clock(ts: float) -> str:
    import time

    return time.strftime("%H:%M:%S", time.localtime(ts))


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_server_prints_what_alertmanager_posts_and_refuses_junk() -> None:
    lines: list[str] = []
    receiver = AlertReceiver("127.0.0.1", 0, emit=lines.append).start()
    try:
        host, port = receiver.address
        url = f"http://{host}:{port}/alerts"
        assert _post(url, json.dumps(PAYLOAD).encode()) == 200
        assert [line.split(" ", 1)[1] for line in lines] == [
            "alert firing   KpiSlaBreachRatioHigh: SLA breach ratio 0.31 above 0.10 (urgent)",
            "alert resolved KpiWorkerDown",
        ]
        assert _post(url, b"{not json") == 400
        # A body announced larger than the limit is refused before a byte of it is read.
        with socket.create_connection((host, port), timeout=10) as conn:
            conn.sendall(f"POST /alerts HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY_BYTES + 1}\r\n\r\n".encode())
            assert conn.recv(100).startswith(b"HTTP/1.0 413")
        assert len(lines) == 2
    finally:
        receiver.stop()
