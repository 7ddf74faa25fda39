"""ASGI middleware: a request id on every answer and one log line per request, without its content.

Plain ASGI (not BaseHTTPMiddleware): exceptions keep their type, and the hot path stays cheap.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import structlog

from plugin import logs

log = logs.get("plugin.api")


def _request_id(headers: list[tuple[bytes, bytes]]) -> str:
    sent = dict(headers).get(b"x-request-id", b"").decode("latin-1")
    return sent if 0 < len(sent) <= 64 and sent.replace("-", "").isalnum() else str(uuid.uuid4())


class RequestLog:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope.get("headers", []))
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        start = time.perf_counter()

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (b"x-request-id", request_id.encode())]}
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            app = scope.get("app")
            catalog = getattr(getattr(app, "state", None), "catalog", None)
            route = scope.get("route")
            log.info("request", request_id=request_id, method=scope["method"], route=getattr(route, "path", "(unmatched)"),
                     status=status, duration_ms=round((time.perf_counter() - start) * 1000, 2),
                     pack_version=catalog.version if catalog else None, **scope["state"].get("log", {}))
