"""Deadlines on slow clients, at the HTTP protocol level (below ASGI, where a request is not yet a request).

uvicorn closes a keep-alive connection idle between requests (`timeout_keep_alive`), but has no deadline on a new
connection that never sends a request, on headers sent a byte at a time, or on a body that never ends: each such
connection was held open indefinitely (slowloris). This protocol adds two deadlines:

* header deadline (DDX_HEADER_TIMEOUT_SECONDS): from the moment the server waits for a request (connection opened,
  previous answer sent) until its headers are complete;
* body deadline (DDX_BODY_TIMEOUT_SECONDS): from the end of the headers until the end of the body.

When one passes, the client gets 408 (an OperationOutcome) if it had started a request, and the connection is closed.
Processing time is not bounded here: the cost budget per request bounds it (plugin/strict_json.py, schema_check.py).
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from plugin.errors import Issue, IssueType, Severity
from plugin.settings import get_settings
from plugin.write.outcome import operation_outcome

_BODY = orjson.dumps(operation_outcome([Issue(Severity.ERROR, IssueType.INCOMPLETE, "The request did not arrive in time.")]))
REQUEST_TIMEOUT = b"".join([
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/fhir+json; fhirVersion=4.0\r\n",
    b"content-length: ", str(len(_BODY)).encode(), b"\r\nconnection: close\r\n\r\n", _BODY,
])


class DeadlineHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline and a body deadline (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = get_settings()
        self._header_seconds, self._body_seconds = settings.header_timeout_seconds, settings.body_timeout_seconds
        self._deadline: asyncio.TimerHandle | None = None
        self._started = False  # bytes of a request have arrived since the server began waiting for one

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        answering = self.cycle is not None and not self.cycle.response_complete and self.cycle.response_started
        if self._started and not answering:
            self.transport.write(REQUEST_TIMEOUT)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True  # the application's receive() now says the client left
            self.cycle.message_event.set()
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self._header_seconds)

    def data_received(self, data: bytes) -> None:
        self._started = True
        super().data_received(data)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._arm(self._body_seconds)  # a request without a body completes at once: on_message_complete disarms

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a queued request already has its headers and body: no deadline for it
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._started = False
            self._arm(self._header_seconds)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
