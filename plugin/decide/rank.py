"""Scores -> a ranked, cut differential with likelihood bands, a next step chosen for this report, and cautions."""

from __future__ import annotations

from plugin.decide.clues import Evidence, not_stated
from plugin.decide.next_steps import open_tests, own_step, separating
from plugin.knowledge.icd10cm import codes_for
from plugin.knowledge.model import Pack
from plugin.model import Candidate, Caution, ClueOutcome, Coding, Likelihood, NextStep, Report, Truth


def likelihood(pack: Pack, score: float) -> tuple[Likelihood, str]:
    for min_score, code, display in pack.likelihood:
        if score >= min_score:
            return code, display
    return pack.likelihood[-1][1], pack.likelihood[-1][2]


ORDER = list(Likelihood)  # negligible < low < moderate < high < certain


def honest(pack: Pack, supporting: list[ClueOutcome], opposing: list[ClueOutcome], band: Likelihood) -> tuple[Likelihood, str | None]:
    """A band above the pack's cap needs a specific finding for the diagnosis; a strong finding against caps it."""
    rule = pack.form.labels
    if ORDER.index(band) <= ORDER.index(rule.cap):
        return band, None
    if not any(o.weight >= rule.specific_weight for o in supporting):
        return rule.cap, "no specific finding for it"
    against = [o for o in opposing if o.weight >= rule.strong_against_weight]
    if against:
        return rule.cap, f"strong finding against: {against[0].statement.rstrip('.')}"
    return band, None


def _may_name(pack: Pack, d: str, truths: dict[str, Truth]) -> bool:
    """Whether a variant may name its family's entry: it has no defining trigger, or one of them is true."""
    needs = pack.form.named_only_with.get(d)
    return needs is None or any(truths.get(c) is True for c in needs)


def _display(pack: Pack, band: Likelihood) -> str:
    return next(display for _, code, display in pack.likelihood if code == band)


def rank(pack: Pack, report: Report, truths: dict[str, Truth], evidence: dict[str, Evidence],
         max_items: int) -> tuple[list[Candidate], list[tuple[str, str]], tuple[Caution, ...], tuple[NextStep, ...]]:
    """The differential (one entry per family of variants), the overriding cautions, and the footer's questions."""
    order = list(pack.diagnoses)  # file order breaks ties: deterministic
    excluded = [(d, ev.excluded) for d, ev in evidence.items() if ev.excluded]
    # Relevant = not excluded, at least one clue for it fired, and a score above the pack's floor.
    relevant = [d for d in order if not evidence[d].excluded and evidence[d].supported and evidence[d].score >= pack.min_score]
    place = {d: i for i, d in enumerate(order)}
    relevant.sort(key=lambda d: (-round(evidence[d].score, 6), place[d]))
    families: set[str] = set()
    entries = []
    for d in relevant:  # the best-scoring variant stands for its family: five places, five different ideas
        family = pack.form.families.get(d, (d, ""))[0]
        if family in families:
            continue
        if not _may_name(pack, d, truths) and any(_may_name(pack, m, truths) for m in relevant
                                                  if pack.form.families.get(m, (m, ""))[0] == family):
            continue  # a variant defined by a trigger the report does not state: a sibling it does ground names the entry
        families.add(family)
        entries.append(d)
    shown = entries[:max_items]

    active = [c for c in pack.cautions if c.diagnosis in shown[: c.within_rank]
              and (c.when is None or c.when(report) is True) and not (c.unless is not None and c.unless(report) is True)]
    forbidden = frozenset().union(*(c.avoid for c in active))
    tests = open_tests(pack, truths, forbidden)
    questions = tuple(separating(tests, evidence, shown[0], shown, pack.next_step_neighbours, top=2)) if shown else ()
    used = {q.discriminator_id for q in questions}
    open_ids = {d.id for d, _ in tests}
    overriding = tuple(Caution(c.id, c.statement, c.sources, c.headline, tuple(sorted(c.avoid))) for c in active if c.overriding)
    candidates = []
    for position, dx_id in enumerate(shown, start=1):
        dx, ev = pack.diagnoses[dx_id], evidence[dx_id]
        supporting, opposing = ev.outcomes()
        band, note = honest(pack, supporting, opposing, likelihood(pack, ev.score)[0])
        step = own_step(pack, dx_id, open_ids, used)
        if step:
            used.add(step.discriminator_id)
        candidates.append(
            Candidate(
                rank=position, diagnosis_id=dx_id, display=dx.display, group_id=dx.group, group_display=pack.groups[dx.group],
                codes=codes_for(dx, pack, report), score=round(ev.score, 3), likelihood=band, likelihood_display=_display(pack, band),
                supporting=tuple(sorted(supporting, key=lambda o: -o.weight)),
                opposing=tuple(sorted(opposing, key=lambda o: -o.weight)),
                not_stated=tuple(not_stated(pack, dx_id, truths)),
                next_step=step,
                cautions=tuple(Caution(c.id, c.statement, c.sources, forbids=tuple(sorted(c.avoid)))
                               for c in active if c.diagnosis == dx_id and not c.overriding),
                outside_pack=dx.outside_pack, sources=dx.sources,
                pack_coding=Coding(pack.system("diagnosis"), dx_id, dx.display),
                group_coding=Coding(pack.system("group"), dx.group, pack.groups[dx.group]),
                family=pack.form.families[dx_id][1] if dx_id in pack.form.families else None, label_note=note,
            )
        )
    return candidates, excluded, overriding, questions
