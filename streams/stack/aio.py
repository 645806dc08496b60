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
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine_factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coroutine_factory())).result()
