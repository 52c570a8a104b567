"""Helpers for tests that wait on real background processes."""

import time


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.2):
    """Poll until predicate() is truthy; fail with a clear message instead of hanging."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout:.0f} s")
