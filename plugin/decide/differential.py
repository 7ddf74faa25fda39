"""The decide stage in order: for each pack, scope -> clues -> ranking. The Result carries all a writer needs."""

from __future__ import annotations

from plugin.decide.clues import evaluate
from plugin.decide.rank import rank
from plugin.decide.reference import read_labs, sex_not_stated, vouch
from plugin.knowledge.catalog import Catalog
from plugin.knowledge.model import Pack
from plugin.model import PackResult, Report, Result

DEFAULT_MAX_DIFFERENTIAL = 5


def data_checks(pack: Pack, report: Report) -> tuple[str, ...]:
    """What the radiologist must know before reading the list: missing age, a patient outside the pack's population
    (sex missing where it matters: `reference.sex_not_stated`)."""
    checks = []
    pop = pack.form.population
    if report.age_days is None:
        checks.append("Age not stated: diagnoses with a usual age were not weighed by age.")
    elif pop and ((pop.max_days is not None and report.age_days >= pop.max_days)
                  or (pop.min_days is not None and report.age_days < pop.min_days)):
        checks.append(f"The patient is outside this pack's population ({pop.statement}): read the differential with care.")
    return tuple(checks)


def decide(report: Report, catalog: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> Result:
    """The ranked, explained differential of every pack for one report (out-of-scope packs say why)."""
    sections = []
    for pack in catalog.packs:
        in_scope = pack.scope(report)
        if report.clinical_only and not pack.clinical_only:
            in_scope, why = False, "has no imaging study"
        else:
            why = "states otherwise" if in_scope is False else "does not state it"
        if in_scope is not True:
            needed = pack.scope_statement.split(". ")[0].rstrip(".")
            sections.append(
                PackResult(pack.id, pack.version, pack.title, pack.intended_use, False,
                           f"Outside the scope of '{pack.title}', which requires: {needed}. This report {why}.",
                           (), (), {}, {})
            )
            continue
        read, readings = read_labs(pack, report)  # the clues read the pack's range where the report gives none
        truths, evidence, trace = evaluate(pack, read)
        trace = vouch(pack, report, truths, readings, evidence, trace)
        candidates, excluded, overriding, questions = rank(pack, read, truths, evidence, max_items)
        scores = {"scores": {d: round(ev.score, 3) for d, ev in evidence.items()}}
        sections.append(
            PackResult(pack.id, pack.version, pack.title, pack.intended_use, True,
                       f"In scope of '{pack.title}'.", tuple(candidates), tuple(excluded), truths, scores, trace,
                       header=data_checks(pack, report) + sex_not_stated(pack, readings), overriding=overriding, questions=questions)
        )
    return Result(report, tuple(sections))
