"""`kpi-monitor replay` end to end, as a subprocess: rows, dead letters, summary, exit codes."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from .kpi_testkit import DAY0, HOUR, created, line, nps, replied, resolved

ROOT = Path(__file__).resolve().parents[2]
T = DAY0 + 10 * HOUR  # 2026-11-25T10:00:00Z


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "replay", *args],
        input=stdin, capture_output=True, cwd=ROOT, env=env, timeout=60,
    )


def rows_of(stdout: bytes) -> list[dict]:
    return [json.loads(x) for x in stdout.decode().splitlines()]


def find(rows: list[dict], kpi: str, start: str, **labels: str) -> object:
    hits = [r["value"] for r in rows if r["kpi"] == kpi and r["window_start"] == start and r["labels"] == labels]
    assert len(hits) == 1, (kpi, start, labels, hits)
    return hits[0]


GOOD = [
    nps(9, "2026-11-25T10:05:00Z", team="billing", channel="chat"),
    nps(6, "2026-11-25T12:10:00+02:00"),  # 10:10Z
    created("t1", T + 700, team="billing", channel="email", priority="high"),
    replied("t1", T + 820),
    resolved("t1", T + 1300),
    nps(10, T + HOUR),  # exactly 11:00Z: the second window
]
BAD = [b"not json at all", line(nps(11, T + 650, event_id="bad-score")), line(resolved("ghost", T + 1200))]


@pytest.fixture
def events_file(tmp_path: Path) -> Path:
    path = tmp_path / "events.jsonl"
    body = [line(GOOD[0]), BAD[0], line(GOOD[1]), b"", line(GOOD[2]), BAD[1], line(GOOD[3]), line(GOOD[3]),
            line(GOOD[4]), BAD[2], line(GOOD[5])]
    path.write_bytes(b"\n".join(body) + b"\n")
    return path


def test_help_works_and_names_the_options() -> None:
    result = cli("--help")
    assert result.returncode == 0
    out = result.stdout.decode()
    for word in ("FILE", "--window", "--group-by", "--dead-letter", "--grace"):
        assert word in out


def test_rows_have_the_documented_shape_and_hand_checked_values(events_file: Path, tmp_path: Path) -> None:
    result = cli(str(events_file))
    assert result.returncode == 0, result.stderr
    rows = rows_of(result.stdout)
    assert rows
    for row in rows:
        assert set(row) == {"kpi", "window_start", "window_end", "labels", "value"}
        assert row["window_start"].endswith("Z") and row["window_end"].endswith("Z")
        assert isinstance(row["labels"], dict) and all(isinstance(v, str) for v in row["labels"].values())
        assert row["value"] is None or isinstance(row["value"], (int, float))
    assert {(r["window_start"], r["window_end"]) for r in rows} == {
        ("2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"), ("2026-11-25T11:00:00Z", "2026-11-25T12:00:00Z"),
    }
    w10, w11 = "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"
    # Window 10: nps [9, 6] -> 0; the score of 11 is rejected. Window 11: [10] -> 100.
    assert find(rows, "nps", w10) == 0.0
    assert find(rows, "nps_responses", w10) == 2
    assert find(rows, "nps", w10, team="billing") == 100.0
    assert find(rows, "nps", w11) == 100.0
    # t1: reply 120 s after creation (duplicate reply counted once), resolved after 600 s, within 8 h.
    assert find(rows, "first_response_time_mean_seconds", w10) == 120.0
    assert find(rows, "resolution_time_mean_seconds", w10, priority="high") == 600.0
    assert find(rows, "fcr_ratio", w10) == 1.0
    assert find(rows, "sla_breach_ratio", w10) == 0.0
    assert find(rows, "open_tickets", w10) == 0
    assert find(rows, "conversion_ratio", w10) is None


def test_summary_on_stderr_counts_reads_accepts_duplicates_and_rejects(events_file: Path) -> None:
    result = cli(str(events_file))
    assert result.returncode == 0  # rejects do not fail the replay
    err = result.stderr.decode()
    # 10 non-blank lines: 6 accepted, 1 duplicate, 3 rejected (one each of three reasons)
    assert "10 events read" in err
    assert "6 accepted" in err
    assert "1 duplicates" in err
    assert "3 rejected" in err
    for reason in ("invalid_json", "out_of_range", "unknown_ticket"):
        assert f"rejected {reason}: 1" in err


def test_dead_letter_file_gets_one_object_per_rejected_line(events_file: Path, tmp_path: Path) -> None:
    dead = tmp_path / "dead.jsonl"
    result = cli(str(events_file), "--dead-letter", str(dead))
    assert result.returncode == 0
    letters = [json.loads(x) for x in dead.read_text().splitlines()]
    assert [d["reason"] for d in letters] == ["invalid_json", "out_of_range", "unknown_ticket"]
    assert [d["raw"].encode() for d in letters] == BAD
    assert all(d["detail"] for d in letters)
    # Line numbers in the file, counting the blank line (see `events_file`).
    assert [d["line"] for d in letters] == [2, 6, 10]


def test_jobs_2_gives_the_same_rows_summary_and_dead_letters(events_file: Path, tmp_path: Path) -> None:
    one = cli(str(events_file), "--jobs", "1", "--dead-letter", str(tmp_path / "one.jsonl"))
    two = cli(str(events_file), "--jobs", "2", "--dead-letter", str(tmp_path / "two.jsonl"))
    assert one.returncode == two.returncode == 0, two.stderr
    assert two.stdout == one.stdout
    assert two.stderr.decode().replace(" (2 processes)", "") == one.stderr.decode()
    assert "(2 processes)" in two.stderr.decode()

    def letters(name: str) -> list[dict]:
        return sorted((json.loads(x) for x in (tmp_path / name).read_text().splitlines()), key=lambda d: d["line"])

    assert letters("two.jsonl") == letters("one.jsonl")


def test_jobs_on_a_generated_stream_with_bad_lines_and_duplicates(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    generated = tmp_path / "gen.jsonl"
    subprocess.run(
        [sys.executable, "-m", "streams.cli", "generate", "--out", str(generated), "--count", "30000", "--rate", "2",
         "--seed", "7", "--start", "2026-11-25T00:00:00Z", "--quiet"],
        check=True, cwd=ROOT, env=env, timeout=120,
    )
    good = generated.read_bytes().splitlines()
    # Every 997th line is repeated (a duplicate) and every 1009th is followed by junk.
    body = []
    for i, raw in enumerate(good):
        body.append(raw)
        if i % 997 == 0:
            body.append(raw)
        if i % 1009 == 0:
            body.append(b'{"event_id": "junk-%d", "type": "survey.nps", "ts": "yesterday"}' % i)
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(body) + b"\n")
    results = {jobs: cli(str(path), "--window", "15m", "--jobs", jobs) for jobs in ("1", "3")}
    assert results["1"].returncode == results["3"].returncode == 0, results["3"].stderr
    assert len(rows_of(results["1"].stdout)) > 1000
    assert results["3"].stdout == results["1"].stdout
    summary = results["3"].stderr.decode()
    assert f"{len(body):,} lines" in summary and "(3 processes)" in summary
    assert f"{len(good) // 997 + 1:,} duplicates" in summary
    assert f"rejected invalid_timestamp: {len(good) // 1009 + 1:,}" in summary


def test_jobs_cannot_split_stdin_or_a_pipe(events_file: Path, tmp_path: Path) -> None:
    result = cli("-", "--jobs", "2", stdin=events_file.read_bytes())
    assert result.returncode == 2
    assert "stdin" in result.stderr.decode() and "--jobs 1" in result.stderr.decode()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # nobody writes to it: the check must come before any open
    result = cli(str(fifo), "--jobs", "2")
    assert result.returncode == 2
    assert "not a regular file" in result.stderr.decode()


def test_group_by_limits_the_breakdowns(events_file: Path) -> None:
    rows = rows_of(cli(str(events_file), "--group-by", "team").stdout)
    assert {tuple(r["labels"]) for r in rows} == {(), ("team",)}
    rows = rows_of(cli(str(events_file), "--group-by", "priority", "channel").stdout)
    assert {tuple(r["labels"]) for r in rows} == {(), ("priority",), ("channel",)}


def test_window_option_changes_the_buckets(events_file: Path) -> None:
    rows = rows_of(cli(str(events_file), "--window", "1d").stdout)
    assert {(r["window_start"], r["window_end"]) for r in rows} == {("2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z")}
    assert find(rows, "nps_responses", "2026-11-25T00:00:00Z") == 3


def test_stdin_and_quiet(events_file: Path) -> None:
    from_file = cli(str(events_file))
    from_stdin = cli("-", "--quiet", stdin=events_file.read_bytes())
    assert from_stdin.returncode == 0
    assert from_stdin.stdout == from_file.stdout
    assert from_stdin.stderr == b""


def test_empty_file_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"\n\n")
    result = cli(str(path))
    assert result.returncode == 0
    assert result.stdout == b""


def test_out_of_range_times_are_dead_lettered_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "far.jsonl"
    path.write_bytes(b"\n".join([line(nps(9, T)), line(nps(9, 1e20)), line(nps(9, 253_402_300_799))]) + b"\n")
    result = cli(str(path))
    assert result.returncode == 0, result.stderr
    assert "rejected invalid_timestamp: 2" in result.stderr.decode()
    assert find(rows_of(result.stdout), "nps_responses", "2026-11-25T10:00:00Z") == 1


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = cli(str(missing))
    assert result.returncode != 0
    err = result.stderr.decode()
    assert str(missing) in err and "cannot read" in err
    assert "Traceback" not in err
    assert result.stdout == b""


def test_a_directory_is_not_readable_as_events(tmp_path: Path) -> None:
    result = cli(str(tmp_path))
    assert result.returncode != 0
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [("--window", "7m"), ("--window", "soon"), ("--grace", "-5m"), ("--fx", "EUR"), ("--sla", "critical=1h"),
     ("--group-by", "region"), ("--jobs", "0"), ("--jobs", "many")],
)
def test_invalid_options_fail_with_a_message(events_file: Path, args: tuple[str, ...]) -> None:
    result = cli(str(events_file), *args)
    assert result.returncode != 0
    assert result.stderr.strip()
    assert "Traceback" not in result.stderr.decode()


def test_unwritable_dead_letter_path_fails_cleanly(events_file: Path, tmp_path: Path) -> None:
    result = cli(str(events_file), "--dead-letter", str(tmp_path / "no-such-dir" / "dead.jsonl"))
    assert result.returncode != 0
    assert "cannot write" in result.stderr.decode()


# -- compressed input and files that are not event files (issue #12) ---------------------------


def test_a_gzip_file_replays_byte_for_byte_as_the_plain_one(events_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "export.jsonl.gz"
    packed.write_bytes(gzip.compress(events_file.read_bytes()))
    plain, from_gz = cli(str(events_file)), cli(str(packed))
    assert from_gz.returncode == plain.returncode == 0, from_gz.stderr
    assert from_gz.stdout == plain.stdout and plain.stdout
    assert from_gz.stderr == plain.stderr


def test_zstandard_and_gzip_are_recognised_by_their_bytes_also_on_stdin(events_file: Path, tmp_path: Path) -> None:
    plain = cli(str(events_file))
    data = events_file.read_bytes()
    # Two zstd frames (as `cat a.zst b.zst` makes) and two gzip members: both read whole.
    half = data.index(b"\n", len(data) // 2) + 1
    zst = zstandard.ZstdCompressor().compress(data[:half]) + zstandard.ZstdCompressor().compress(data[half:])
    from_zst = cli("-", stdin=zst)
    assert from_zst.returncode == 0, from_zst.stderr
    assert from_zst.stdout == plain.stdout
    renamed = tmp_path / "events.data"  # no telling extension: the magic number decides
    renamed.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert cli(str(renamed)).stdout == plain.stdout


def test_jobs_on_a_compressed_file_runs_one_process_and_says_so(events_file: Path, tmp_path: Path) -> None:
    packed = tmp_path / "events.jsonl.gz"
    packed.write_bytes(gzip.compress(events_file.read_bytes()))
    result = cli(str(packed), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout == cli(str(events_file)).stdout
    err = result.stderr.decode()
    assert "gzip-compressed: replaying with 1 process, not 2" in err and "(2 processes)" not in err


def test_a_damaged_gzip_file_is_a_read_error_not_a_traceback(events_file: Path, tmp_path: Path) -> None:
    packed = gzip.compress(events_file.read_bytes() * 50)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    result = cli(str(cut))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert f"error while reading the gzip stream of {cut}" in err and "Traceback" not in err


def test_a_csv_file_exits_3_saying_nearly_every_line_was_rejected(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    # A header and 11 records: 12 non-blank lines, none of them JSON.
    path.write_text("ticket_id,created_at,priority\n" + "".join(f"t{i},2026-11-25T10:00:00Z,high\n" for i in range(11)))
    result = cli(str(path))
    assert result.returncode == 3
    assert result.stdout == b""
    err = result.stderr.decode()
    assert "12 of 12 lines rejected (invalid_json 12); is this a JSONL event file? See docs/events.md" in err
    assert cli(str(path), "--quiet").stderr.decode().count("\n") == 1  # the verdict even when quiet


def test_the_mostly_rejected_rule_at_its_edges(tmp_path: Path) -> None:
    good = line(nps(9, T))
    # 10 events, 9 rejected: 90% is not more than 90% -> processed (exit 0).
    nine = tmp_path / "nine.jsonl"
    nine.write_bytes(b"\n".join([good] + [b"junk"] * 9) + b"\n")
    assert cli(str(nine)).returncode == 0
    # 11 events, 10 rejected: 90.9% of at least 10 -> exit 3, two reasons named by count.
    ten = tmp_path / "ten.jsonl"
    ten.write_bytes(b"\n".join([good] + [b"junk"] * 7 + [line(nps(11, T + i)) for i in range(3)]) + b"\n")
    result = cli(str(ten))
    assert result.returncode == 3
    assert "10 of 11 lines rejected (invalid_json 7, out_of_range 3)" in result.stderr.decode()
    # Fewer than 10 events: only "every one rejected" counts.
    two = tmp_path / "two.jsonl"
    two.write_bytes(b"junk\n" + good + b"\n")
    assert cli(str(two)).returncode == 0
    two.write_bytes(b"junk\nmore junk\n")
    assert cli(str(two)).returncode == 3


def test_help_documents_compression_and_the_exit_codes() -> None:
    out = cli("--help").stdout.decode()
    assert ".gz" in out and ".zst" in out
    assert "3 when nearly every line was rejected" in out
