"""Errors of the domain core, as values. HTTP status codes are chosen only at the edge (plugin.api).

    RadDdxError
    ├── InputInvalid      the document breaks the findings schema or the pack's rules (issues inside)
    │   └── InputUnreadable   the bytes are not strict JSON: no verdict on content is possible
    └── PackInvalid       a knowledge pack file is wrong (file, path, reason); raised at load, never per request
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class IssueType(StrEnum):
    """The subset of http://hl7.org/fhir/issue-type this product emits."""

    INVALID = "invalid"
    STRUCTURE = "structure"
    REQUIRED = "required"
    VALUE = "value"
    CODE_INVALID = "code-invalid"
    DUPLICATE = "duplicate"
    BUSINESS_RULE = "business-rule"
    NOT_SUPPORTED = "not-supported"
    TOO_LONG = "too-long"
    SECURITY = "security"
    LOGIN = "login"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    EXCEPTION = "exception"
    INCOMPLETE = "incomplete"
    INFORMATIONAL = "informational"


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem with a place. `message` never quotes the input's values."""

    severity: Severity
    code: IssueType
    message: str
    path: str | None = None


class RadDdxError(Exception):
    """Base of every error the core raises on purpose."""


class InputInvalid(RadDdxError):
    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} problem(s) in the findings document")
        self.issues = issues


class InputUnreadable(InputInvalid):
    """The body is not strict JSON (or not UTF-8): answered 400."""


@dataclass(frozen=True, slots=True)
class PackProblem:
    file: str
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path or '(root)'}: {self.reason}"


class PackInvalid(RadDdxError):
    def __init__(self, problems: list[PackProblem]) -> None:
        super().__init__("knowledge pack invalid:\n" + "\n".join(f"  {p}" for p in problems))
        self.problems = problems
