"""Scores -> a ranked, cut differential with likelihood bands, a next step chosen for this report, and cautions."""

from __future__ import annotations

from collections.abc import Mapping

from plugin.decide.clues import Evidence
from plugin.knowledge.icd10cm import codes_for
from plugin.knowledge.model import Discriminator, Pack
from plugin.model import Candidate, Caution, Coding, Likelihood, NextStep, Report, Truth


def likelihood(pack: Pack, score: float) -> tuple[Likelihood, str]:
    for min_score, code, display in pack.likelihood:
        if score >= min_score:
            return code, display
    return pack.likelihood[-1][1], pack.likelihood[-1][2]


def rank(pack: Pack, report: Report, truths: dict[str, Truth], evidence: dict[str, Evidence],
         max_items: int) -> tuple[list[Candidate], list[tuple[str, str]]]:
    order = list(pack.diagnoses)  # file order breaks ties: deterministic
    excluded = [(d, ev.excluded) for d, ev in evidence.items() if ev.excluded]
    # Relevant = not excluded, at least one clue for it fired, and a score above the pack's floor.
    relevant = [d for d in order if not evidence[d].excluded and evidence[d].supporting and evidence[d].score >= pack.min_score]
    relevant.sort(key=lambda d: (-round(evidence[d].score, 6), order.index(d)))
    shown = relevant[:max_items]

    active_cautions = {c.id: c for c in pack.cautions if c.diagnosis in shown[: c.within_rank]}
    forbidden = frozenset().union(*(c.avoid for c in active_cautions.values()))
    # The tests still open for this report: none of their clues is stated either way, and no caution forbids them.
    open_tests = [(d, [pack.signed[c] for c in d.resolves if pack.signed[c]]) for d in pack.discriminators
                  if d.id not in forbidden and all(truths.get(c) is None for c in d.resolves)]
    candidates = []
    for position, dx_id in enumerate(shown, start=1):
        dx, ev = pack.diagnoses[dx_id], evidence[dx_id]
        code, display = likelihood(pack, ev.score)
        candidates.append(
            Candidate(
                rank=position, diagnosis_id=dx_id, display=dx.display, group_id=dx.group, group_display=pack.groups[dx.group],
                codes=codes_for(dx, pack, report), score=round(ev.score, 3), likelihood=code, likelihood_display=display,
                supporting=tuple(sorted(ev.supporting, key=lambda o: -o.weight)),
                opposing=tuple(sorted(ev.opposing, key=lambda o: -o.weight)),
                not_stated=tuple(sorted(ev.not_stated, key=lambda o: -o.weight)),
                next_step=next_step(open_tests, evidence, dx_id, shown, pack.next_step_neighbours),
                cautions=tuple(Caution(c.id, c.statement, c.sources, tuple(sorted(c.avoid)))
                               for c in active_cautions.values() if c.diagnosis == dx_id),
                outside_pack=dx.outside_pack, sources=dx.sources,
                pack_coding=Coding(pack.system("diagnosis"), dx_id, dx.display),
                group_coding=Coding(pack.system("group"), dx.group, pack.groups[dx.group]),
            )
        )
    return candidates, excluded


def next_step(open_tests: list[tuple[Discriminator, list[Mapping[str, float]]]], evidence: dict[str, Evidence],
              dx_id: str, shown: list[str], neighbours: int) -> NextStep | None:
    """Among the tests still open here, the one that best separates dx from its closest neighbours.

    Neighbours = the `neighbours` (pack scoring) diagnoses with the nearest scores. Separation = sum over them (weighted
    1 / (1 + score gap)) of how far apart the test's clues would move the two diagnoses' scores.
    """
    pool = [n for n in shown if n != dx_id] or [n for n in evidence if n != dx_id and not evidence[n].excluded]
    gap = {n: abs(evidence[dx_id].score - evidence[n].score) for n in pool}
    nearest = tuple(sorted(pool, key=lambda n: (gap[n], pool.index(n)))[:neighbours])
    closeness = [(n, 1.0 / (1.0 + gap[n])) for n in nearest]
    best: tuple[float, NextStep] | None = None
    for d, effects in open_tests:
        separation = 0.0
        for eff in effects:
            own = eff.get(dx_id, 0.0)
            for n, w in closeness:
                separation += w * abs(own - eff.get(n, 0.0))
        if separation > 0 and (best is None or separation > best[0] + 1e-9):
            best = (separation, NextStep(d.id, d.statement, d.kind, nearest, round(separation, 3), d.sources))
    return best[1] if best else None
