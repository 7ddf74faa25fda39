"""Every clue of a pack against the report (true / false / unknown), and what each did to each diagnosis."""

from __future__ import annotations

from dataclasses import dataclass, field

from plugin.knowledge.model import Clue, Effect, Pack
from plugin.model import ClueOutcome, ClueTrace, EffectKind, FiredEffect, Report, Truth


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


def age_to_check(report: Report, onset_of: frozenset[str]) -> tuple[float | None, bool]:
    """(age in days, is it the age at onset): usual ages are ages at onset, so a stated onset of the disease wins."""
    if report.age_days is None:
        return None, False
    onsets = [f.onset_days for c in sorted(onset_of) for f in report.by_concept.get(c, ()) if f.present and f.onset_days is not None]
    if onsets:
        return max(0.0, report.age_days - max(onsets)), True
    return report.age_days, False


def fires(effect: EffectKind, truth: Truth) -> bool:
    """Whether an effect applies: supports / opposes / excludes when the clue is true, required when it is false."""
    if effect is EffectKind.REQUIRED:
        return truth is False
    return truth is True


def _specific(pack: Pack, clue_id: str, weight: float) -> bool:
    """Worth a place on a diagnosis's line: strong enough, or shared by few diseases (pack.yaml scoring.labels)."""
    rule = pack.form.labels
    limit = rule.shown_if_shared_by_at_most
    return limit is None or weight >= rule.specific_weight or pack.supported_by.get(clue_id, 0) <= limit


def evaluate(pack: Pack, report: Report) -> tuple[dict[str, Truth], dict[str, Evidence], tuple[ClueTrace, ...]]:
    truths = {clue.id: clue.test(report) for clue in pack.clues}
    rests_on: dict[str, tuple[str, ...]] = {}  # once per clue, not per effect: a report may state 200 findings

    def _outcome(clue: Clue, effect: Effect, report: Report) -> ClueOutcome:
        if clue.id not in rests_on:
            rests_on[clue.id] = _rests_on(clue, report)
        return ClueOutcome(clue.id, clue.statement, effect.effect, effect.weight, effect.reason, clue.sources, rests_on[clue.id],
                           _specific(pack, clue.id, effect.weight))

    evidence = {d.id: Evidence(score=d.prior) for d in pack.diagnoses.values()}
    trace = []
    for clue in pack.clues:
        truth = truths[clue.id]
        fired = []
        for effect in clue.effects:
            ev = evidence[effect.diagnosis]
            kind = effect.effect
            if truth is None:
                if kind in (EffectKind.SUPPORTS, EffectKind.REQUIRED):
                    ev.not_stated.append(pack.unstated[(clue.id, effect.diagnosis)])  # rests on no stated fact
                continue
            if not fires(kind, truth):
                continue
            fired.append(FiredEffect(effect.diagnosis, kind, effect.weight, effect.reason))
            if kind is EffectKind.SUPPORTS:
                ev.score += effect.weight
                ev.supporting.append(_outcome(clue, effect, report))
            elif kind is EffectKind.OPPOSES:
                ev.score -= effect.weight
                ev.opposing.append(_outcome(clue, effect, report))
            else:  # excludes (true) or required (false): out of the differential, and said why
                ev.excluded = ev.excluded or f"{clue.statement} ({'stated' if truth else 'stated otherwise'}): {effect.reason}"
                ev.opposing.append(_outcome(clue, effect, report))
        trace.append(ClueTrace(clue.id, clue.statement, truth, tuple(fired)))
    for d in pack.diagnoses.values():
        age, at_onset = age_to_check(report, d.usual_age_onset_of)
        if d.usual_age is None or age is None:
            continue
        low, high = d.usual_age
        if (low is not None and age < low) or (high is not None and age >= high):
            ev = evidence[d.id]
            ev.score += pack.age_penalty
            what = "Age at onset" if at_onset else "Age"
            ev.opposing.append(
                ClueOutcome("age-outside-usual-range", f"{what} outside the usual range ({d.usual_age_text})", EffectKind.AGE,
                            -pack.age_penalty, "Unusual, not impossible, at this age.", d.usual_age_sources)
            )
    return truths, evidence, tuple(trace)
