"""Issues -> FHIR R4 OperationOutcome (JSON)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from plugin.errors import Issue


def issue_json(issue: Issue) -> dict[str, Any]:
    out: dict[str, Any] = {"severity": issue.severity.value, "code": issue.code.value, "diagnostics": issue.message}
    if issue.path:
        out["expression"] = [issue.path]
    return out


def operation_outcome(issues: Iterable[Issue], resource_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"resourceType": "OperationOutcome"}
    if resource_id:
        out["id"] = resource_id
    out["issue"] = [issue_json(i) for i in issues]
    return out
