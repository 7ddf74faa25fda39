"""Reading a request body the strict way: media type, size limit, then strict JSON."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from plugin.api import accept
from plugin.errors import IssueType
from plugin.read import READERS


class Unacceptable(Exception):
    """An HTTP-level refusal (406, 413, 415) rendered as an OperationOutcome by the app."""

    def __init__(self, status: int, code: IssueType, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


async def check_accept(request: Request) -> None:
    """A dependency of every route: 406 unless the client accepts what we answer (FHIR JSON or JSON, FHIR R4)."""
    if accept.fhir_version(request.headers.get("accept")) is None:
        raise Unacceptable(406, IssueType.NOT_SUPPORTED, "This service answers application/fhir+json (or application/json) "
                                                         f"in FHIR {', '.join(accept.FHIR_VERSIONS)} only.")


async def read_json(request: Request) -> tuple[str, Any]:
    """(input form, parsed document): the form is the reader registered for the request's media type."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    reader = next((r for r in READERS.values() if media in r.media_types), None)
    if reader is None:
        raise Unacceptable(415, IssueType.NOT_SUPPORTED, "Send findings JSON as application/json or a FHIR input Bundle as application/fhir+json.")
    body = await request.body()  # the size limit is enforced while reading, by BodyLimit
    return reader.name, reader.parse(body)
