"""Real `ddx serve` processes for the tests: wait until one answers /health, or fail with what it printed."""

from __future__ import annotations

import subprocess
import time
from typing import IO

import httpx
import pytest


def wait_until_healthy(proc: subprocess.Popen[bytes], base: str, log: IO[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            log.seek(0)
            pytest.fail(f"server exited with {proc.returncode}: {log.read().decode(errors='replace')[-2000:]}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server not ready on {base} within {timeout_s:.0f} s")
        time.sleep(0.1)
