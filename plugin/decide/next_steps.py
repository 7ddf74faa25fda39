"""What to do next: the footer's questions (the open tests that best separate the leading diagnosis from its closest
competitors) and each diagnosis's own next step (its pack-given work-up, never repeating a step shown elsewhere)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from plugin.decide.clues import Evidence
from plugin.knowledge.model import Discriminator, Pack
from plugin.model import NextStep, Truth

OpenTest = tuple[Discriminator, Sequence[Mapping[str, float]]]


def _open(d: Discriminator, truths: Mapping[str, Truth]) -> bool:
    for c in d.resolves:
        if truths.get(c) is not None:
            return False
    return True


def open_tests(pack: Pack, truths: Mapping[str, Truth], forbidden: frozenset[str]) -> list[OpenTest]:
    """The tests still open for this report: none of their clues is stated either way, and no caution forbids them."""
    return [(d, d.effects) for d in pack.discriminators if d.id not in forbidden and _open(d, truths)]


def separating(tests: Sequence[OpenTest], evidence: Mapping[str, Evidence], dx_id: str, shown: Sequence[str],
               neighbours: int, top: int | None = None) -> list[NextStep]:
    """The open tests that separate dx from its closest neighbours, best first (only those that separate at all;
    the first `top` of them when it is given).

    Neighbours = the `neighbours` diagnoses with the nearest scores. Separation = sum over them (weighted
    1 / (1 + score gap)) of how far apart the test's clues would move the two diagnoses' scores.
    """
    pool = [n for n in shown if n != dx_id] or [n for n in evidence if n != dx_id and not evidence[n].excluded]
    gap = {n: abs(evidence[dx_id].score - evidence[n].score) for n in pool}
    nearest = tuple(sorted(pool, key=lambda n: (gap[n], pool.index(n)))[:neighbours])
    closeness = [(n, 1.0 / (1.0 + gap[n])) for n in nearest]
    involved = {dx_id, *nearest}
    scored: list[tuple[float, int, Discriminator]] = []
    for index, (d, effects) in enumerate(tests):
        if involved.isdisjoint(d.moves):
            continue  # every term below would be 0.0: it separates nothing
        # the same terms in the same order as a generator would give them, summed by sum(): the same float
        separation = sum([w * abs(mine - eff.get(n, 0.0)) for eff in effects for mine in (eff.get(dx_id, 0.0),)
                          for n, w in closeness])
        if separation > 1e-9:
            scored.append((separation, index, d))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return [NextStep(d.id, d.statement, d.kind, nearest, round(separation, 3), d.sources) for separation, _, d in scored[:top]]


def own_step(pack: Pack, dx_id: str, open_ids: set[str], used: set[str]) -> NextStep | None:
    """The diagnosis's own next step: the first of its pack-given steps still open here and not already shown."""
    for ref in pack.form.own_steps.get(dx_id, ()):
        if ref in open_ids and ref not in used:
            d = next(x for x in reversed(pack.discriminators) if x.id == ref)  # the last of that id, as a dict by id keeps
            return NextStep(d.id, d.statement, d.kind, (), 0.0, d.sources)
    return None
