"""Where records go. A sink is anything with `send` and `close`; the Kafka
one lives in kafka_sink.py so that writing files never imports aiokafka."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO, Protocol

from streams.generator.exceptions import SinkError, SinkUnavailable

_FILE_BUFFER_BYTES = 1 << 20


class Sink(Protocol):
    """The one I/O seam of the generator: tests can pass any object like this."""

    description: str

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Queue one record; may wait for room (back-pressure)."""

    async def close(self) -> None:
        """Flush everything queued and release resources; raise SinkError on loss."""


class JsonlSink:
    """One record value per line; topic and key are not written (the value
    carries `type`, which determines both)."""

    def __init__(self, path: str | Path, *, flush_each_record: bool = False) -> None:
        # Real-time output is read as it is written (`tail -f`, a pipe), so
        # it must not sit in a buffer; bulk output is faster buffered.
        self._flush_each_record = flush_each_record
        self._owns_file = str(path) != "-"
        self.description = str(path) if self._owns_file else "stdout"
        try:
            self._file: BinaryIO = (
                open(path, "wb", buffering=_FILE_BUFFER_BYTES)  # noqa: SIM115 - closed in close()
                if self._owns_file
                else sys.stdout.buffer
            )
        except OSError as exc:
            raise SinkUnavailable(f"cannot open {path} for writing: {exc.strerror}") from exc

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Write `value` as one line (topic and key are not part of a JSONL file); flushed at
        once in real time. Raises SinkError when the write fails; BrokenPipeError passes through
        (the reader left, e.g. `| head`: the caller stops quietly)."""
        try:
            self._file.write(value + b"\n")
            if self._flush_each_record:
                self._file.flush()
        except BrokenPipeError:
            raise  # the reader left (`| head`): the caller decides, not an error
        except OSError as exc:
            raise SinkError(f"writing {self.description} failed: {exc.strerror}") from exc

    async def close(self) -> None:
        """Flush what is buffered, and close the file unless it is stdout."""
        try:
            self._file.flush()
        finally:
            if self._owns_file:
                self._file.close()
