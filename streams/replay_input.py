"""Opening a replay's event file: plain, gzip or Zstandard, from a path or stdin.

Compression is recognised by the first bytes of the content (its magic number), not by the
file name, so `export.jsonl.gz`, a renamed file and `zcat`-less pipes (`curl ... | kpi-monitor
replay -`) all work. gzip is the standard library's; Zstandard is the `zstandard` package
(the python-zstandard bindings of the reference C library). Multi-member gzip files and
multi-frame .zst files (e.g. `zstd -T0`, or files concatenated with `cat`) are read whole.
"""

from __future__ import annotations

import gzip
import io
import sys
from typing import IO

GZIP = "gzip"
ZSTD = "zstd"
_MAGIC = {b"\x1f\x8b": GZIP, b"\x28\xb5\x2f\xfd": ZSTD}
_MAGIC_BYTES = max(len(m) for m in _MAGIC)
_READ_BUFFER_BYTES = 1 << 20

# What a damaged compressed stream raises while it is read (besides OSError, which
# gzip.BadGzipFile is): gzip's truncated stream, zstandard's ZstdError (a subclass of it).
DECOMPRESSION_ERRORS: tuple[type[Exception], ...] = (EOFError,)
try:
    import zstandard

    DECOMPRESSION_ERRORS += (zstandard.ZstdError,)
except ImportError:  # pragma: no cover - a dependency; only a broken install lacks it
    zstandard = None


def compression_of(head: bytes) -> str | None:
    """GZIP or ZSTD when `head` (the first bytes of a stream) starts with its magic number."""
    for magic, name in _MAGIC.items():
        if head.startswith(magic):
            return name
    return None


def sniff_file(path: str) -> str | None:
    """The compression of a regular file, from its first bytes (None for plain or unreadable)."""
    try:
        with open(path, "rb") as handle:
            return compression_of(handle.read(_MAGIC_BYTES))
    except OSError:
        return None


class _Prefixed(io.RawIOBase):
    """`head` (bytes already read for sniffing) followed by the rest of `source`."""

    def __init__(self, head: bytes, source: IO[bytes]) -> None:
        self._head = head
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def open_events(path: str) -> tuple[IO[bytes], str | None]:
    """(a binary stream of the decompressed lines, the compression found or None).

    `path` "-" is stdin. Raises OSError when the file cannot be opened. Reading a damaged
    compressed stream raises OSError or one of DECOMPRESSION_ERRORS.
    """
    raw: IO[bytes] = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
    head = b""
    while len(head) < _MAGIC_BYTES:  # a pipe may hand over fewer bytes per read
        chunk = raw.read(_MAGIC_BYTES - len(head))
        if not chunk:
            break
        head += chunk
    compression = compression_of(head)
    if compression is None and raw.seekable():
        raw.seek(0)  # a plain file is read as it is, at full speed
        return raw, None
    stream: IO[bytes] = io.BufferedReader(_Prefixed(head, raw), _READ_BUFFER_BYTES)
    if compression == GZIP:
        stream = gzip.GzipFile(fileobj=stream, mode="rb")
    elif compression == ZSTD:
        if zstandard is None:  # pragma: no cover
            raise OSError("reading .zst needs the zstandard package (pip install zstandard)")
        reader = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True)
        stream = io.BufferedReader(reader, _READ_BUFFER_BYTES)  # type: ignore[arg-type]
    return _Closing(stream, raw), compression


class _Closing(io.BufferedIOBase):
    """A stream whose close() also closes the file underneath (not stdin)."""

    def __init__(self, stream: IO[bytes], raw: IO[bytes]) -> None:
        self._stream = stream
        self._raw = raw

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self._stream.read(size)

    def readline(self, size: int | None = -1) -> bytes:
        return self._stream.readline(size)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._stream)

    def close(self) -> None:
        if not self.closed:
            self._stream.close()
            if self._raw is not sys.stdin.buffer:
                self._raw.close()
        super().close()
