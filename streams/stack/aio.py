"""Running a coroutine from the stack's synchronous API.

The stack classes are called from pytest fixtures and the CLI (no loop) but may
also be called from async tests (a loop is running). In that case the
coroutine runs on its own loop in a worker thread instead of failing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_sync(coroutine_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run the coroutine `coroutine_factory()` makes to completion and return its result (or
    raise its exception): on a new loop in this thread, or, when a loop already runs here, on a
    new loop in one worker thread while this thread waits."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_factory())).result()
