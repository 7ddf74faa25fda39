"""The core's front door for the CLI, the HTTP API and library users: document in, FHIR JSON out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from plugin import paths, pipeline, validate
from plugin.catalog import Catalog, load_catalog
from plugin.errors import InputInvalid, Issue, IssueType, Severity
from plugin.fhir import build_bundle, build_contained, operation_outcome
from plugin.model import Result
from plugin.normalize import normalize

Shape = Literal["bundle", "contained"]


def load_knowledge(mappings_dir: Path | None = None, schemas_dir: Path | None = None) -> Catalog:
    """Load and check every knowledge pack; raises PackInvalid naming file, path and reason."""
    return load_catalog(mappings_dir or paths.MAPPINGS_DIR, schemas_dir or paths.SCHEMAS_DIR)


def _uuid() -> str:
    return str(uuid.uuid4())


def _now() -> datetime:
    return datetime.now(UTC)


def render(result: Result, catalog: Catalog, shape: Shape = "bundle",
           new_id: Callable[[], str] = _uuid, now: Callable[[], datetime] = _now) -> dict[str, Any]:
    build = build_contained if shape == "contained" else build_bundle
    return build(result, catalog, new_id, now())


def evaluate(document: Any, knowledge: Catalog, shape: Shape = "bundle", *, max_items: int = pipeline.DEFAULT_MAX_DIFFERENTIAL,
             new_id: Callable[[], str] = _uuid, now: Callable[[], datetime] = _now) -> dict[str, Any]:
    """FHIR R4 JSON for one parsed findings document; raises InputInvalid listing every problem."""
    return render(pipeline.run(document, knowledge, max_items), knowledge, shape, new_id, now)


def document_issues(document: Any, knowledge: Catalog) -> list[Issue]:
    """Every error; or, for a document that would be evaluated, a warning for each code no loaded pack knows
    (inside a known code system: the code is kept, never evaluated), exactly as evaluation reports it."""
    return validate.check(document, knowledge) or list(normalize(document, knowledge).warnings)


def validate_document(document: Any, knowledge: Catalog) -> dict[str, Any]:
    """An OperationOutcome: every problem as an error issue; or, when valid, one informational issue then the warnings."""
    issues = document_issues(document, knowledge)
    if not any(i.severity == Severity.ERROR for i in issues):
        note = f" {len(issues)} warning(s) follow." if issues else ""
        issues = [Issue(Severity.INFORMATION, IssueType.INFORMATIONAL, "The document is valid." + note), *issues]
    return operation_outcome(issues)


__all__ = ["InputInvalid", "evaluate", "load_knowledge", "render", "validate_document"]
