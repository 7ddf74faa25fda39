"""The decide stage in order: for each pack, scope -> clues -> ranking. The Result carries all a writer needs."""

from __future__ import annotations

from plugin.decide.clues import evaluate
from plugin.decide.rank import rank
from plugin.knowledge.catalog import Catalog
from plugin.model import PackResult, Report, Result

DEFAULT_MAX_DIFFERENTIAL = 5


def decide(report: Report, catalog: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> Result:
    """The ranked, explained differential of every pack for one report (out-of-scope packs say why)."""
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
        truths, evidence, trace = evaluate(pack, report)
        candidates, excluded = rank(pack, report, truths, evidence, max_items)
        scores = {"scores": {d: round(ev.score, 3) for d, ev in evidence.items()}}
        sections.append(
            PackResult(pack.id, pack.version, pack.title, pack.intended_use, True,
                       f"In scope of '{pack.title}'.", tuple(candidates), tuple(excluded), truths, scores, trace)
        )
    return Result(report, tuple(sections))
