"""`kpi-monitor generate` end to end, writing real files."""

from __future__ import annotations

import json
import socket
import time

import pytest

from streams.cli import main

from .event_contract_checker import check_line, parse_ts_seconds
from .gen_support import START, START_SECONDS


def _generate(capsys, *argv: str) -> tuple[int, str]:
    code = main(["generate", *argv])
    return code, capsys.readouterr().err


def test_writes_the_file_and_prints_a_summary(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    summary_json = tmp_path / "summary.json"
    code, err = _generate(
        capsys,
        "--out", str(out), "--count", "2500", "--seed", "1", "--start", START,
        "--summary-json", str(summary_json),
    )
    assert code == 0
    lines = out.read_bytes().splitlines()
    assert len(lines) == 2500
    assert all(not check_line(line)[1] for line in lines)
    assert "generated 2,500 records to" in err and "seed 1" in err
    assert "faults:" not in err  # none asked for
    summary = json.loads(summary_json.read_text())
    assert summary["records"] == 2500 and summary["seed"] == 1
    assert sum(summary["records_by_topic"].values()) == 2500


def test_same_arguments_same_file(tmp_path, capsys):
    args = ["--count", "3000", "--seed", "9", "--start", START, "--quiet", "--duplicate-fraction", "0.05"]
    _generate(capsys, "--out", str(tmp_path / "a.jsonl"), *args)
    _generate(capsys, "--out", str(tmp_path / "b.jsonl"), *args)
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()


def test_default_count_and_random_seed_is_reported(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    code, err = _generate(capsys, "--out", str(out), "--quiet")
    assert code == 0
    assert len(out.read_bytes().splitlines()) == 10_000
    assert " seed " in err


def test_duration_covers_simulated_time(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    code, _ = _generate(
        capsys, "--out", str(out), "--duration", "2m", "--rate", "20", "--start", START, "--seed", "2"
    )
    assert code == 0
    times = [parse_ts_seconds(json.loads(line)["ts"]) for line in out.read_bytes().splitlines()]
    assert 2000 < len(times) < 2800  # Poisson around 2,400
    assert START_SECONDS <= min(times) and max(times) < START_SECONDS + 120


def test_realtime_paces_by_the_wall_clock(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    began = time.monotonic()
    code, _ = _generate(capsys, "--out", str(out), "--duration", "1s", "--rate", "50", "--realtime")
    elapsed = time.monotonic() - began
    assert code == 0
    assert 0.8 < elapsed < 3.0
    times = [parse_ts_seconds(json.loads(line)["ts"]) for line in out.read_bytes().splitlines()]
    assert abs(times[0] - time.time()) < 10  # default start is now


def test_faults_are_reported(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    code, err = _generate(
        capsys,
        "--out", str(out), "--count", "20000", "--seed", "3", "--start", START,
        "--duplicate-fraction", "0.01", "--late-fraction", "0.02", "--late-by", "1m",
        "--out-of-order-fraction", "0.03", "--malformed-fraction", "0.02",
    )
    assert code == 0
    fault_line = next(line for line in err.splitlines() if line.startswith("faults:"))
    invalid = sum(1 for line in out.read_bytes().splitlines() if check_line(line)[1])
    assert f"malformed={invalid:,}" in fault_line
    for name in ("duplicate=", "late=", "out_of_order=", "not_json=", "naive_ts="):
        assert name in fault_line


def test_epoch_timestamps(tmp_path, capsys):
    out = tmp_path / "events.jsonl"
    _generate(capsys, "--out", str(out), "--count", "50", "--ts-format", "epoch", "--start", START)
    events = [json.loads(line) for line in out.read_bytes().splitlines()]
    assert all(isinstance(e["ts"], (int, float)) for e in events)


def test_stdout(capsys):
    assert main(["generate", "--out", "-", "--count", "3", "--quiet", "--seed", "1", "--start", START]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 3
    assert "generated 3 records to stdout" in captured.err


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no destination
        ["--out", "x", "--bootstrap-servers", "localhost:9092"],
        ["--out", "x", "--count", "5", "--duration", "1m"],
        ["--out", "x", "--late-fraction", "1.5"],
        ["--out", "x", "--rate", "0"],
        ["--out", "x", "--duration", "soon"],
        ["--out", "x", "--count", "-1"],
    ],
)
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", *argv])
    assert exc.value.code == 2


def test_inconsistent_settings_exit_2(tmp_path, capsys):
    code, err = _generate(
        capsys, "--out", str(tmp_path / "x"), "--duplicate-fraction", "0.6", "--malformed-fraction", "0.5"
    )
    assert code == 2 and "must be below 1" in err
    code, err = _generate(capsys, "--out", str(tmp_path / "x"), "--start", "2024-05-01T00:00:00")
    assert code == 2 and "timezone" in err


def test_unwritable_file_exits_1(tmp_path, capsys):
    code, err = _generate(capsys, "--out", str(tmp_path / "missing" / "x.jsonl"))
    assert code == 1 and "cannot open" in err


def test_unreachable_broker_fails_fast_and_clearly(capsys):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    began = time.monotonic()
    code, err = _generate(
        capsys, "--bootstrap-servers", f"127.0.0.1:{port}", "--count", "10", "--kafka-timeout", "3s"
    )
    assert code == 1
    assert f"cannot reach Kafka at 127.0.0.1:{port}" in err
    assert time.monotonic() - began < 10


def test_silent_broker_times_out(capsys):
    # Accepts connections but never answers: only the timeout can end this.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        began = time.monotonic()
        code, err = _generate(
            capsys, "--bootstrap-servers", f"127.0.0.1:{port}", "--count", "10", "--kafka-timeout", "1s"
        )
    assert code == 1 and "timed out" in err
    assert time.monotonic() - began < 6


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "examples:" in text and "--bootstrap-servers localhost:9092" in text
