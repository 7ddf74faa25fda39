"""Stage 3: every clue of a pack against the report (true / false / unknown), and what each did to each diagnosis."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.knowledge import Clue, Effect, Pack
from plugin.model import ClueOutcome, Report, Truth


@dataclass(slots=True)
class Evidence:
    """The running account of one diagnosis."""

    score: float
    supporting: list[ClueOutcome] = field(default_factory=list)
    opposing: list[ClueOutcome] = field(default_factory=list)
    not_stated: list[ClueOutcome] = field(default_factory=list)
    excluded: str | None = None


def _rests_on(clue: Clue, report: Report) -> tuple[str, ...]:
    facts = tuple(f"{f.kind}:{f.id}" for c in sorted(clue.concepts) for f in report.by_concept.get(c, ()))
    labs = tuple(f"lab:{x.id}" for t in sorted(clue.labs) for x in report.labs_by_test.get(t, ()))
    return facts + labs


def evaluate(pack: Pack, report: Report) -> tuple[dict[str, Truth], dict[str, Evidence]]:
    truths = {clue.id: clue.test(report) for clue in pack.clues}
    rests_on: dict[str, tuple[str, ...]] = {}  # once per clue, not per effect: a report may state 200 findings

    def _outcome(clue: Clue, effect: Effect, report: Report) -> ClueOutcome:
        if clue.id not in rests_on:
            rests_on[clue.id] = _rests_on(clue, report)
        return ClueOutcome(clue.id, clue.statement, effect.effect, effect.weight, effect.reason, clue.sources, rests_on[clue.id])

    evidence = {d.id: Evidence(score=d.prior) for d in pack.diagnoses.values()}
    for clue in pack.clues:
        truth = truths[clue.id]
        for effect in clue.effects:
            ev = evidence[effect.diagnosis]
            kind = effect.effect
            if truth is None:
                if kind in ("supports", "required"):
                    ev.not_stated.append(pack.unstated[(clue.id, effect.diagnosis)])  # rests on no stated fact
            elif kind == "supports" and truth:
                ev.score += effect.weight
                ev.supporting.append(_outcome(clue, effect, report))
            elif kind == "opposes" and truth:
                ev.score -= effect.weight
                ev.opposing.append(_outcome(clue, effect, report))
            elif (kind == "excludes" and truth) or (kind == "required" and not truth):
                ev.excluded = ev.excluded or f"{clue.statement} ({'stated' if truth else 'stated otherwise'}): {effect.reason}"
                ev.opposing.append(_outcome(clue, effect, report))
    if report.age_days is not None:
        for d in pack.diagnoses.values():
            if d.usual_age is None:
                continue
            low, high = d.usual_age
            if (low is not None and report.age_days < low) or (high is not None and report.age_days >= high):
                ev = evidence[d.id]
                ev.score += pack.age_penalty
                ev.opposing.append(
                    ClueOutcome("age-outside-usual-range", f"Age outside the usual range ({d.usual_age_text})", "age",
                                -pack.age_penalty, "Unusual, not impossible, at this age.", d.usual_age_sources)
                )
    return truths, evidence
