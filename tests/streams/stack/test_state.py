from __future__ import annotations

import os
from pathlib import Path

import psutil

from streams.stack.state import ComponentRecord, StackState


def _record(name: str, pid: int, create_time: float) -> ComponentRecord:
    return ComponentRecord(name, pid, create_time, ["x"], ["/tmp/x.log"], {"url": "http://127.0.0.1:1"})


def test_records_round_trip_and_forget(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    me = psutil.Process()
    state.put(_record("kafka", me.pid, me.create_time()))
    state.put(_record("prometheus", me.pid, me.create_time()))

    loaded = StackState(tmp_path).load()
    assert set(loaded) == {"kafka", "prometheus"}
    assert loaded["kafka"].endpoints == {"url": "http://127.0.0.1:1"}
    assert loaded["kafka"].is_running

    state.forget("kafka")
    assert set(state.load()) == {"prometheus"}


def test_a_recycled_pid_is_not_running(tmp_path: Path) -> None:
    me = psutil.Process()
    assert not _record("kafka", os.getpid(), me.create_time() - 3600).is_running


def test_missing_or_corrupt_state_is_empty(tmp_path: Path) -> None:
    assert StackState(tmp_path / "none").load() == {}
    (tmp_path / "state.json").write_text("{not json")
    assert StackState(tmp_path).load() == {}
