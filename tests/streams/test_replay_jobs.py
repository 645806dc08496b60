"""The process side of `replay --jobs`: failures surface as clear errors; the auto rule."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kpi.config import EngineConfig
from streams.replay_jobs import AUTO_MAX_JOBS, AUTO_MIN_BYTES, ReplayJobError, auto_jobs, replay_parallel, splittable


def test_an_unreadable_file_fails_the_replay_with_the_reason(tmp_path: Path) -> None:
    rows, _ = replay_parallel(str(tmp_path), EngineConfig(), 2)  # a directory
    with pytest.raises(ReplayJobError, match="Is a directory"):
        list(rows)


def test_rows_and_totals_of_a_small_file(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text(
        '{"event_id":"a","type":"survey.nps","ts":"2026-11-25T10:00:00Z","customer_id":"c1","score":10}\n'
        '{"event_id":"b","type":"survey.nps","ts":"2026-11-25T10:10:00Z","customer_id":"c2","score":0}\n'
        "\n"
        "garbage\n"
    )
    rejected = []
    rows, totals = replay_parallel(str(path), EngineConfig(), 2, on_reject=lambda r, line: rejected.append((r.reason, line)))
    nps = [r.value for r in rows if r.kpi == "nps" and not r.labels]
    assert nps == [0.0]  # one promoter, one detractor
    assert rejected == [("invalid_json", 4)]
    assert (totals.lines, totals.stats.read, totals.stats.accepted) == (4, 3, 2)


def test_auto_uses_one_process_for_stdin_pipes_and_small_files_else_cores_up_to_the_cap(tmp_path: Path) -> None:
    f = tmp_path / "events.jsonl"
    f.write_bytes(b"")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert auto_jobs("-", 8, 10**12) == 1
    assert auto_jobs(str(fifo), 8, 10**12) == 1
    assert auto_jobs(str(f), 8, AUTO_MIN_BYTES - 1) == 1
    assert auto_jobs(str(f), 2, AUTO_MIN_BYTES) == 2
    assert auto_jobs(str(f), 64, 10**12) == AUTO_MAX_JOBS
    assert auto_jobs(str(f), 1, 10**12) == 1


def test_only_a_regular_file_can_be_split(tmp_path: Path) -> None:
    f = tmp_path / "events.jsonl"
    f.write_bytes(b"")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert splittable(str(f)) is None
    assert "stdin" in (splittable("-") or "")
    assert "not a regular file" in (splittable(str(fifo)) or "")
