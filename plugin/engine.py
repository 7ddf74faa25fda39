"""The front door for the CLI, the HTTP API and library users: read -> decide -> write, each by its registry."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from plugin import paths, read
from plugin.decide import DEFAULT_MAX_DIFFERENTIAL, decide
from plugin.errors import InputInvalid, Issue, IssueType, Severity
from plugin.knowledge.catalog import Catalog, load_catalog
from plugin.model import Result
from plugin.write import DEFAULT_SHAPE, Stamp, write
from plugin.write.outcome import operation_outcome


def load_knowledge(mappings_dir: Path | None = None, schemas_dir: Path | None = None) -> Catalog:
    """Load and check every knowledge pack; raises PackInvalid naming file, path and reason."""
    return load_catalog(mappings_dir or paths.MAPPINGS_DIR, schemas_dir or paths.SCHEMAS_DIR)


def _uuid() -> str:
    """A random (version 4) UUID as `str(uuid.uuid4())` writes it, without building a UUID object (15 per answer)."""
    b = bytearray(os.urandom(16))
    b[6] = (b[6] & 0x0F) | 0x40  # version 4
    b[8] = (b[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = b.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _now() -> datetime:
    return datetime.now(UTC)


def result_of(document: Any, knowledge: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL,
              form: str = read.DEFAULT_FORM) -> Result:
    """Read and decide one parsed document; raises InputInvalid listing every problem."""
    return decide(read.read(document, knowledge, form), knowledge, max_items)


def render(result: Result, shape: str = DEFAULT_SHAPE, new_id: Callable[[], str] = _uuid,
           now: Callable[[], datetime] = _now, endpoint: str | None = None, fhir_version: str = "4.0") -> dict[str, Any]:
    stamp = Stamp(new_id, now()) if endpoint is None else Stamp(new_id, now(), endpoint)
    return write(result, shape, stamp, fhir_version)


def evaluate(document: Any, knowledge: Catalog, shape: str = DEFAULT_SHAPE, *, max_items: int = DEFAULT_MAX_DIFFERENTIAL,
             new_id: Callable[[], str] = _uuid, now: Callable[[], datetime] = _now, endpoint: str | None = None) -> dict[str, Any]:
    """FHIR R4 JSON for one parsed document (findings JSON or a FHIR input Bundle, told apart by content);
    raises InputInvalid listing every problem."""
    return render(result_of(document, knowledge, max_items, read.form_of(document)), shape, new_id, now, endpoint)


def document_issues(document: Any, knowledge: Catalog, form: str = read.DEFAULT_FORM) -> list[Issue]:
    """Every error; or, for a document that would be evaluated, a warning for each code no loaded pack knows
    (inside a known code system: the code is kept, never evaluated), exactly as evaluation reports it."""
    return read.problems(document, knowledge, form) or list(read.READERS[form].to_report(document, knowledge).warnings)


def validate_document(document: Any, knowledge: Catalog, form: str = read.DEFAULT_FORM) -> dict[str, Any]:
    """An OperationOutcome: every problem as an error issue; or, when valid, one informational issue then the warnings."""
    issues = document_issues(document, knowledge, form)
    if not any(i.severity == Severity.ERROR for i in issues):
        note = f" {len(issues)} warning(s) follow." if issues else ""
        issues = [Issue(Severity.INFORMATION, IssueType.INFORMATIONAL, "The document is valid." + note), *issues]
    return operation_outcome(issues)


__all__ = ["InputInvalid", "document_issues", "evaluate", "load_knowledge", "render", "result_of", "validate_document"]
