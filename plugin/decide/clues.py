"""Every clue of a pack against the report (true / false / unknown), and what each did to each diagnosis."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from plugin.knowledge.model import Clue, Effect, Pack
from plugin.model import ClueOutcome, ClueTrace, EffectKind, FiredEffect, Report, Truth


def _rests_on(concepts: tuple[str, ...], labs: tuple[str, ...], report: Report) -> tuple[str, ...]:
    """What a clue rests on: the facts of its concepts, then the results of its labs (each in sorted order)."""
    facts = tuple(f"{f.kind}:{f.id}" for c in concepts for f in report.by_concept.get(c, ()))
    return facts + tuple(f"lab:{x.id}" for t in labs for x in report.labs_by_test.get(t, ()))


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


@dataclass(frozen=True, slots=True)
class _Step:
    """One effect of a clue, with everything that does not depend on the report built once per pack."""

    clue: Clue
    diagnosis: str
    kind: EffectKind
    weight: float  # signed: + supports, - opposes, 0 excludes / required
    fired: FiredEffect
    effect: Effect
    specific: bool  # worth a place on the diagnosis's line (_specific)


Notes = Mapping[str, tuple[str, tuple[str, ...]]]  # clue -> (how a lab was read, its sources): reference.vouch()


@dataclass(slots=True)
class Evidence:
    """The running account of one diagnosis: its score, and what fired for it in the pack's order. The outcomes are
    built only for the diagnoses shown (outcomes()): most of a pack's diagnoses are scored and never listed."""

    score: float
    fired: list[tuple[_Step, tuple[str, ...]]] = field(default_factory=list)  # (effect, the facts its clue rests on)
    age: ClueOutcome | None = None  # the usual-age adjustment: listed last against it
    supported: bool = False  # a clue for it fired
    excluded: str | None = None
    notes: Notes | None = None  # from vouch(), the same for every diagnosis, when a lab was read from the pack's intervals

    def outcomes(self) -> tuple[list[ClueOutcome], list[ClueOutcome]]:
        """(for, against), each in the pack's order, the age adjustment last; a clue whose truth came from a
        reference interval the pack holds says so (noted)."""
        supporting: list[ClueOutcome] = []
        opposing: list[ClueOutcome] = []
        notes = self.notes
        for step, rests_on in self.fired:
            clue, e = step.clue, step.effect
            outcome = ClueOutcome(clue.id, clue.statement, e.effect, e.weight, e.reason, clue.sources, rests_on, step.specific)
            if notes is not None and clue.id in notes:
                outcome = noted(outcome, *notes[clue.id])
            (supporting if step.kind is EffectKind.SUPPORTS else opposing).append(outcome)
        if self.age is not None:
            opposing.append(self.age)
        return supporting, opposing


def noted(o: ClueOutcome, note: str, sources: tuple[str, ...]) -> ClueOutcome:
    """The outcome saying how its lab was read, citing the interval too."""
    return replace(o, statement=f"{o.statement.rstrip('.')} ({note}).", sources=tuple(dict.fromkeys(o.sources + sources)))


@dataclass(frozen=True, slots=True)
class _Planned:
    """One clue with what it does, built once per pack: a report only decides its truth and what it rests on."""

    clue: Clue
    when_true: tuple[_Step, ...]  # the effects that fire when it is true, in the order of its effects
    when_false: tuple[_Step, ...]  # ... when it is false (required)
    traces: dict[Truth, ClueTrace]  # its trace line for each truth: the fired effects depend on the truth only
    gated: bool  # only finding / history / lab tests: unknown, without running it, when the report states none of them
    concepts: tuple[str, ...]  # its concepts and labs, sorted: the order of what it rests on
    labs: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    clues: tuple[_Planned, ...]
    unstated: Mapping[str, tuple[tuple[str, ClueOutcome], ...]]  # diagnosis -> (clue, outcome listed when it is unknown),
    # strongest first, then in the pack's order (a stable sort): filtering them keeps that order
    # A report visits only the clues that ask about something it states: a gated clue is found through each concept
    # and lab it names, the others are always run. Cost follows the report, not the size of the pack.
    by_concept: Mapping[str, tuple[int, ...]]  # concept -> positions of the gated clues naming it
    by_lab: Mapping[str, tuple[int, ...]]  # lab test -> positions of the gated clues naming it
    always: frozenset[int]  # positions of the clues that are not gated
    unknown: Mapping[str, Truth]  # every clue unknown, in pack order: the truths of a report that states nothing
    unknown_trace: tuple[ClueTrace, ...]  # and their trace lines
    aged: tuple[tuple[str, tuple[float | None, float | None], str | None, tuple[str, ...], tuple[str, ...]], ...]
    # ^ the diagnoses with a usual age: (id, (low, high) in days, its text, its sources, concepts giving the onset)


_PLANS: dict[int, tuple[Pack, Plan]] = {}


def _facts_only(node: Any) -> bool:
    """Whether a predicate is built of finding, history and lab tests only (through all / any / not, none empty):
    each of those is unknown when the report states nothing of its concepts or lab, and so then is the whole."""
    ((op, arg),) = node.items()
    if op in ("all", "any"):
        return bool(arg) and all(_facts_only(x) for x in arg)
    if op == "not":
        return _facts_only(arg)
    return op in ("finding", "history", "lab")


def _plan(pack: Pack) -> Plan:
    """Every clue of the pack with what it does; built once per pack, on its first report, then shared."""
    cached = _PLANS.get(id(pack))
    if cached is not None and cached[0] is pack:
        return cached[1]
    plan = []
    unstated_of: dict[str, list[tuple[str, ClueOutcome]]] = {d: [] for d in pack.diagnoses}
    when = {c["id"]: c["when"] for c in pack.raw.get("clues", {}).get("clues", [])}  # a clue not found here is not gated
    for clue in pack.clues:
        steps = []
        for e in clue.effects:
            signed = e.weight if e.effect is EffectKind.SUPPORTS else -e.weight if e.effect is EffectKind.OPPOSES else 0.0
            unstated = pack.unstated[(clue.id, e.diagnosis)] if e.effect in (EffectKind.SUPPORTS, EffectKind.REQUIRED) else None
            steps.append(_Step(clue, e.diagnosis, e.effect, signed, FiredEffect(e.diagnosis, e.effect, e.weight, e.reason), e,
                               _specific(pack, clue.id, e.weight)))
            if unstated is not None:
                unstated_of[e.diagnosis].append((clue.id, unstated))
        when_true = tuple(s for s in steps if fires(s.kind, True))
        when_false = tuple(s for s in steps if fires(s.kind, False))
        traces: dict[Truth, ClueTrace] = {
            truth: ClueTrace(clue.id, clue.statement, truth, tuple(s.fired for s in fired))
            for truth, fired in ((True, when_true), (False, when_false), (None, ()))}
        plan.append(_Planned(clue, when_true, when_false, traces, clue.id in when and _facts_only(when[clue.id]),
                             tuple(sorted(clue.concepts)), tuple(sorted(clue.labs))))
    by_concept: dict[str, list[int]] = {}
    by_lab: dict[str, list[int]] = {}
    for i, p in enumerate(plan):
        if p.gated:
            for c in p.clue.concepts:
                by_concept.setdefault(c, []).append(i)
            for t in p.clue.labs:
                by_lab.setdefault(t, []).append(i)
    aged = tuple((d.id, d.usual_age, d.usual_age_text, d.usual_age_sources, tuple(sorted(d.usual_age_onset_of)))
                 for d in pack.diagnoses.values() if d.usual_age is not None)
    built = Plan(tuple(plan), {d: tuple(sorted(u, key=lambda x: -x[1].weight)) for d, u in unstated_of.items()},
                 {c: tuple(v) for c, v in by_concept.items()}, {t: tuple(v) for t, v in by_lab.items()},
                 frozenset(i for i, p in enumerate(plan) if not p.gated), dict.fromkeys((p.clue.id for p in plan), None),
                 tuple(p.traces[None] for p in plan), aged)
    _PLANS[id(pack)] = (pack, built)  # packs live as long as the process: one entry per loaded pack
    return built


def not_stated(pack: Pack, dx_id: str, truths: Mapping[str, Truth]) -> list[ClueOutcome]:
    """The clues that would support (or are required for) the diagnosis and that the report leaves unknown, strongest
    first, then in the pack's order: listed, never weighed. Asked only for the diagnoses shown."""
    return [outcome for clue_id, outcome in _plan(pack).unstated[dx_id] if truths[clue_id] is None]


def _age_at(report: Report, age: float, onset_of: tuple[str, ...]) -> tuple[float, bool]:
    """(age in days, is it the age at onset): usual ages are ages at onset, so a stated onset of the disease wins."""
    if not onset_of:
        return age, False
    onsets = [f.onset_days for c in onset_of for f in report.by_concept.get(c, ()) if f.present and f.onset_days is not None]
    if onsets:
        return max(0.0, age - max(onsets)), True
    return age, False


def evaluate(pack: Pack, report: Report) -> tuple[dict[str, Truth], dict[str, Evidence], tuple[ClueTrace, ...]]:
    plan = _plan(pack)
    stated, labs = report.by_concept, report.labs_by_test
    visit = set(plan.always)  # the clues asking about something stated; every other one is unknown without running it
    for c in stated:
        visit.update(plan.by_concept.get(c, ()))
    for t in labs:
        visit.update(plan.by_lab.get(t, ()))
    truths = dict(plan.unknown)
    trace = list(plan.unknown_trace)
    evidence = {d.id: Evidence(score=d.prior) for d in pack.diagnoses.values()}
    supports, opposes = EffectKind.SUPPORTS, EffectKind.OPPOSES
    for i in sorted(visit):  # pack order: effects land on each diagnosis's lists in the order of the pack's clues
        planned = plan.clues[i]
        clue = planned.clue
        truth = clue.test(report)
        if truth is None:  # what it would have done is listed for the diagnoses shown: not_stated()
            continue
        truths[clue.id] = truth
        trace[i] = planned.traces[truth]
        steps = planned.when_true if truth else planned.when_false
        if steps:
            rests_on = _rests_on(planned.concepts, planned.labs, report)  # once per clue, not per effect: a report may state 200 findings
            for step in steps:
                ev = evidence[step.diagnosis]
                ev.fired.append((step, rests_on))
                if step.kind is supports:
                    ev.score += step.weight
                    ev.supported = True
                elif step.kind is opposes:
                    ev.score += step.weight
                else:  # excludes (true) or required (false): out of the differential, and said why
                    ev.excluded = ev.excluded or f"{clue.statement} ({'stated' if truth else 'stated otherwise'}): {step.effect.reason}"
    if report.age_days is not None:
        for dx_id, (low, high), age_text, age_sources, onset_of in plan.aged:
            age, at_onset = _age_at(report, report.age_days, onset_of)
            if (low is not None and age < low) or (high is not None and age >= high):
                ev = evidence[dx_id]
                ev.score += pack.age_penalty
                what = "Age at onset" if at_onset else "Age"
                ev.age = ClueOutcome("age-outside-usual-range", f"{what} outside the usual range ({age_text})", EffectKind.AGE,
                                     -pack.age_penalty, "Unusual, not impossible, at this age.", age_sources)
    return truths, evidence, tuple(trace)
