"""The CDS Hooks 2.0 request and feedback bodies, checked: every problem as an Issue with its path (never the values)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from plugin.errors import Issue, IssueType, Severity
from plugin.store.feedback import Feedback

HOOK = "org.rad-ddx.diagnosticreport-review"
HOOK_CONTEXT = {  # field -> (required, description): documented in the discovery description and the README
    "userId": (True, "The user reviewing the report: Practitioner/<id> or PractitionerRole/<id>."),
    "patientId": (False, "The FHIR id of the patient."),
    "findings": (True, "The findings document (schemas/findings-report.schema.json) of the report being written."),
}
OUTCOMES = ("accepted", "overridden")


def _error(code: IssueType, message: str, path: str | None) -> Issue:
    return Issue(Severity.ERROR, code, message, path)


def _string(obj: dict[str, Any], key: str, path: str, required: bool, issues: list[Issue]) -> None:
    if key not in obj:
        if required:
            issues.append(_error(IssueType.REQUIRED, f"'{key}' is required.", path + key))
    elif not isinstance(obj[key], str) or not obj[key].strip():
        issues.append(_error(IssueType.VALUE, f"'{key}' must be a non-empty string.", path + key))


def request_problems(body: Any) -> list[Issue]:
    """Problems of a service request's envelope (the findings document inside is checked by the reader)."""
    if not isinstance(body, dict):
        return [_error(IssueType.STRUCTURE, "The request must be a JSON object.", None)]
    issues: list[Issue] = []
    _string(body, "hook", "", True, issues)
    if isinstance(body.get("hook"), str) and body["hook"] != HOOK:
        issues.append(_error(IssueType.NOT_SUPPORTED, f"This service is invoked on the hook {HOOK} only.", "hook"))
    _string(body, "hookInstance", "", True, issues)
    _string(body, "fhirServer", "", "fhirAuthorization" in body, issues)
    for key in ("fhirAuthorization", "prefetch"):
        if key in body and not isinstance(body[key], dict):
            issues.append(_error(IssueType.STRUCTURE, f"'{key}' must be an object.", key))
    context = body.get("context")
    if not isinstance(context, dict):
        issues.append(_error(IssueType.REQUIRED, "'context' is required and must be an object.", "context"))
        return issues
    _string(context, "userId", "context.", True, issues)
    _string(context, "patientId", "context.", False, issues)
    if "findings" not in context:
        issues.append(_error(IssueType.REQUIRED, "'findings' (the findings document) is required.", "context.findings"))
    return issues


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value.upper():
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _coding(value: Any) -> tuple[str | None, str | None, str | None] | None:
    if not isinstance(value, dict) or not isinstance(value.get("code"), str) or not isinstance(value.get("system"), str):
        return None
    display = value.get("display")
    return value["system"], value["code"], display if isinstance(display, str) else None


def feedback_entries(body: Any) -> tuple[list[Feedback], list[Issue]]:
    """The feedback entries of a feedback post, or every problem."""
    if not isinstance(body, dict) or not isinstance(body.get("feedback"), list) or not body["feedback"]:
        return [], [_error(IssueType.STRUCTURE, "The body must be an object with a non-empty 'feedback' array.", "feedback")]
    entries: list[Feedback] = []
    issues: list[Issue] = []
    for i, item in enumerate(body["feedback"]):
        at = f"feedback[{i}]."
        if not isinstance(item, dict):
            issues.append(_error(IssueType.STRUCTURE, "Each feedback entry must be an object.", at[:-1]))
            continue
        before = len(issues)
        _string(item, "card", at, True, issues)
        if item.get("outcome") not in OUTCOMES:
            issues.append(_error(IssueType.VALUE, "'outcome' must be 'accepted' or 'overridden'.", at + "outcome"))
        timestamp = _timestamp(item.get("outcomeTimestamp"))
        if timestamp is None:
            issues.append(_error(IssueType.VALUE, "'outcomeTimestamp' must be an RFC 3339 date-time in UTC.", at + "outcomeTimestamp"))
        accepted = item.get("acceptedSuggestions", [])
        if not isinstance(accepted, list) or not all(isinstance(a, dict) and isinstance(a.get("id"), str) for a in accepted):
            issues.append(_error(IssueType.STRUCTURE, "'acceptedSuggestions' must be an array of {\"id\": <suggestion uuid>}.",
                                 at + "acceptedSuggestions"))
            accepted = []
        elif item.get("outcome") == "accepted" and not accepted:
            issues.append(_error(IssueType.REQUIRED, "'acceptedSuggestions' is required for an accepted outcome.", at + "acceptedSuggestions"))
        override = item.get("overrideReason")
        reason, comment = None, None
        if override is not None:
            if not isinstance(override, dict):
                issues.append(_error(IssueType.STRUCTURE, "'overrideReason' must be an object.", at + "overrideReason"))
            else:
                if "reason" in override and (reason := _coding(override["reason"])) is None:
                    issues.append(_error(IssueType.STRUCTURE, "'overrideReason.reason' must be a Coding (system, code).",
                                         at + "overrideReason.reason"))
                comment = override.get("userComment")
                if comment is not None and not isinstance(comment, str):
                    issues.append(_error(IssueType.VALUE, "'overrideReason.userComment' must be a string.", at + "overrideReason.userComment"))
        if len(issues) == before and timestamp is not None:
            entries.append(Feedback(item["card"], item["outcome"], tuple(a["id"] for a in accepted), reason, comment, timestamp))
    return entries, issues
