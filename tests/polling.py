"""Waiting for asynchronous outcomes without sleeping blindly: poll a condition with a deadline."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Timeout(AssertionError):
    """The deadline passed. Its own class, so a caller that tolerates a time-out (and then shows
    what still differs) never also swallows a probe's own failed assertion."""


async def eventually(
    probe: Callable[[], Awaitable[T | None]], timeout: float = 30.0, what: str = "condition"
) -> T:
    """Return the first truthy result of `probe`; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = await probe()
        if last:
            return last
        await asyncio.sleep(0.05)
    raise Timeout(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
