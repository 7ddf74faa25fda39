"""ASGI middleware: refuse bodies over the configured size before reading them (413).

The only place a body over the limit is answered: by its Content-Length before reading, or while streaming a body
without one (the app's read raises BodyTooLarge, which reaches this middleware through the app).
"""

from __future__ import annotations

from typing import Any

import orjson

from plugin.errors import Issue, IssueType, Severity
from plugin.write.outcome import operation_outcome

Scope = dict[str, Any]


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        seen = 0

        async def limited() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except BodyTooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Any) -> None:
        body = orjson.dumps(operation_outcome([Issue(
            Severity.ERROR, IssueType.TOO_LONG, f"The request body is larger than {self.max_bytes} bytes.")]))
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/fhir+json; fhirVersion=4.0"), (b"content-length", str(len(body)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
