"""Issues -> FHIR R4 OperationOutcome (JSON)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugin import text_safety
from plugin.errors import Issue


def issue_json(issue: Issue) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": issue.severity.value, "code": issue.code.value, "diagnostics": issue.message}
    # A path can hold a property name the request sent (an unknown property): a FHIR string like any request text.
    expression = text_safety.string(issue.path) if issue.path else None
    if expression:
        out["expression"] = [expression]
    return out


def operation_outcome(issues: Iterable[Issue], resource_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if resource_id:
        out["id"] = resource_id
    out["issue"] = [issue_json(i) for i in issues]
    return out
