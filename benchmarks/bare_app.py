"""The floor for throughput.py: a bare FastAPI app that takes a JSON POST and answers a small JSON.

Served by uvicorn exactly like rad-ddx (same worker count, uvloop/httptools, no access log):
    python -m uvicorn bare_app:app --app-dir benchmarks --host 127.0.0.1 --port 8001 --workers 1 --no-access-log
"""

from __future__ import annotations

from typing import Any

from fastapi import Body, FastAPI

app = FastAPI(title="bare")


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ready"}


@app.post("/evaluate")
async def evaluate(document: dict[str, Any] = Body(...)) -> dict[str, Any]:
    """Parse the JSON body (FastAPI's own way) and answer a few bytes about it."""
    return {"received": True, "findings": len(document.get("findings") or [])}
