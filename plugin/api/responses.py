"""FHIR JSON responses and the HTTP status of each kind of problem."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

from plugin.errors import Issue, IssueType, Severity
from plugin.write.outcome import operation_outcome

FHIR_JSON = "application/fhir+json; fhirVersion=4.0"


class FhirResponse(Response):
    media_type = FHIR_JSON

    def render(self, content: Any) -> bytes:
        return content if isinstance(content, bytes) else orjson.dumps(content)


def outcome_response(status: int, issues: list[Issue], headers: dict[str, str] | None = None) -> FhirResponse:
    return FhirResponse(operation_outcome(issues), status_code=status, headers=headers)


def problem(status: int, code: IssueType, message: str, path: str | None = None,
            headers: dict[str, str] | None = None) -> FhirResponse:
    return outcome_response(status, [Issue(Severity.ERROR, code, message, path)], headers)
