"""The one place the order is written: validate -> normalise -> evaluate -> rank. Output forms build on the Result."""

from __future__ import annotations

from typing import Any

from plugin import validate
from plugin.catalog import Catalog
from plugin.errors import InputInvalid
from plugin.evaluate import evaluate
from plugin.model import PackResult, Result
from plugin.normalize import normalize
from plugin.rank import rank

DEFAULT_MAX_DIFFERENTIAL = 5


def run(document: Any, catalog: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> Result:
    """Evaluate one parsed findings document; raise InputInvalid with every problem if it is not acceptable."""
    issues = validate.check(document, catalog)
    if issues:
        raise InputInvalid(issues)
    report = normalize(document, catalog)
    sections = []
    for pack in catalog.packs:
        in_scope = pack.scope(report)
        if in_scope is not True:
            why = "states otherwise" if in_scope is False else "does not state it"
            needed = pack.scope_statement.split(". ")[0].rstrip(".")
            sections.append(
                PackResult(pack.id, pack.version, pack.title, pack.intended_use, False,
                           f"Outside the scope of '{pack.title}', which requires: {needed}. This report {why}.",
                           (), (), {}, {})
            )
            continue
        truths, evidence = evaluate(pack, report)
        candidates, excluded = rank(pack, report, truths, evidence, max_items)
        trace = {"scores": {d: round(ev.score, 3) for d, ev in evidence.items()}}
        sections.append(
            PackResult(pack.id, pack.version, pack.title, pack.intended_use, True,
                       f"In scope of '{pack.title}'.", tuple(candidates), tuple(excluded), truths, trace)
        )
    return Result(report, tuple(sections))
