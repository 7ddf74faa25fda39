"""Figures behind the author's report: confusion, band calibration, and what each clue did across the samples.

A clue *fired* in a sample when one of its effects applied there (supports / opposes / excludes while true,
required while false). It *decided* the sample when taking it out of the pack changes the diagnosis ranked
first; it *helped* when that first diagnosis is the expected one only with the clue, *hurt* when only without.
"""

from __future__ import annotations

import dataclasses
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from plugin.decide.clues import evaluate, fires
from plugin.decide.rank import rank
from plugin.decide.reference import read_labs
from plugin.harness import OUT_OF_SCOPE, CaseResult, Summary
from plugin.knowledge.catalog import Catalog
from plugin.knowledge.model import Clue, Pack
from plugin.model import PackResult, Report, Truth

NO_DIFFERENTIAL = "(none)"
Z95 = 1.959964  # two-sided 95 % normal quantile, for the Wilson interval


def fired(clue: Clue, truth: Truth) -> bool:
    """True when at least one of the clue's effects applied to the report."""
    return any(fires(e.effect, truth) for e in clue.effects)


def sections(summary: Summary, catalog: Catalog) -> Iterator[tuple[CaseResult, Pack, PackResult]]:
    """Every (sample, pack, that pack's in-scope answer) of the run."""
    for r in summary.results:
        if r.result is None:
            continue
        for section, pack in zip(r.result.packs, catalog.packs, strict=True):
            if section.in_scope:
                yield r, pack, section


def top1_without(pack: Pack, report: Report, clue_id: str) -> str | None:
    """The diagnosis ranked first when the pack had no such clue (same report, same rules otherwise)."""
    reduced = dataclasses.replace(pack, clues=tuple(c for c in pack.clues if c.id != clue_id))
    report = read_labs(reduced, report)[0]  # as the decide stage reads it: the pack's children's ranges where none is given
    truths, evidence, _ = evaluate(reduced, report)
    candidates, *_ = rank(reduced, report, truths, evidence, 1)
    return candidates[0].diagnosis_id if candidates else None


@dataclass(slots=True)
class ClueStat:
    pack: str
    clue: str
    statement: str
    known: int = 0  # samples where the report stated it either way
    fired: int = 0
    decided: int = 0
    helped: int = 0
    hurt: int = 0
    helped_in: list[str] = dataclasses.field(default_factory=list)  # the samples, by name
    hurt_in: list[str] = dataclasses.field(default_factory=list)


def clue_stats(summary: Summary, catalog: Catalog) -> list[ClueStat]:
    """Every clue of every pack, in file order, with how often it was known, fired and decided a sample."""
    stats = {(p.id, c.id): ClueStat(p.id, c.id, c.statement) for p in catalog.packs for c in p.clues}
    for r, pack, section in sections(summary, catalog):
        top1 = section.candidates[0].diagnosis_id if section.candidates else None
        for clue in pack.clues:
            stat, truth = stats[(pack.id, clue.id)], section.clue_truths.get(clue.id)
            stat.known += truth is not None
            if not fired(clue, truth):
                continue
            stat.fired += 1
            other = top1_without(pack, r.result.report, clue.id)  # type: ignore[union-attr]
            if other != top1:
                stat.decided += 1
                if top1 == r.case.expected_top:
                    stat.helped += 1
                    stat.helped_in.append(r.case.name)
                if other == r.case.expected_top:
                    stat.hurt += 1
                    stat.hurt_in.append(r.case.name)
    return list(stats.values())


def wilson(hits: int, n: int) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion; None when nothing was observed."""
    if n == 0:
        return None
    p = hits / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def calibration(summary: Summary, catalog: Catalog) -> list[dict[str, Any]]:
    """Per pack and likelihood band: the probability the band states, and how often a diagnosis shown with it
    was the sample's expected diagnosis (observed, with its 95 % interval)."""
    shown: Counter[tuple[str, str]] = Counter()
    hits: Counter[tuple[str, str]] = Counter()
    for r, pack, section in sections(summary, catalog):
        if r.case.expected_top is None:
            continue
        for c in section.candidates:
            shown[(pack.id, c.likelihood)] += 1
            hits[(pack.id, c.likelihood)] += c.diagnosis_id == r.case.expected_top
    out = []
    for pack in catalog.packs:
        for band in sorted(pack.raw["manifest"]["scoring"]["likelihood"], key=lambda b: -b["min_score"]):
            key = (pack.id, band["code"])
            stated = band.get("stated_probability")
            n, k = shown[key], hits[key]
            interval = wilson(k, n)
            verdict = "never shown" if interval is None else "not stated" if stated is None else (
                "lower than stated" if interval[1] < stated["min"] else "higher than stated" if interval[0] > stated["max"] else "as stated")
            out.append({
                "pack": pack.id, "code": band["code"], "display": band["display"], "min_score": band["min_score"],
                "stated": [stated["min"], stated["max"]] if stated else None,
                "shown": n, "expected": k, "observed": round(k / n, 4) if n else None,
                "interval95": [round(x, 4) for x in interval] if interval else None, "verdict": verdict,
            })
    return out


@dataclass(frozen=True, slots=True)
class Confusion:
    rows: list[str]  # expected
    columns: list[str]  # ranked first
    counts: list[list[int]]

    def off_diagonal(self) -> list[tuple[str, str, int]]:
        """(expected, ranked first, samples) wherever the pack put something else first, most first."""
        cells = [(r, c, n) for i, r in enumerate(self.rows) for j, c in enumerate(self.columns) if (n := self.counts[i][j]) and r != c]
        return sorted(cells, key=lambda x: (-x[2], x[0], x[1]))


def confusion(summary: Summary, catalog: Catalog, level: str) -> Confusion:
    """Expected vs ranked first over the in-scope samples, by diagnosis group ("group") or by diagnosis ("diagnosis")."""
    order = [g for p in catalog.packs for g in p.groups] if level == "group" else [d for p in catalog.packs for d in p.diagnoses]

    def label(dx: str | None) -> str:
        if dx is None:
            return NO_DIFFERENTIAL
        return summary.group_of.get(dx, dx) if level == "group" else dx

    pairs = Counter((label(r.case.expected_top), label(r.top[0] if r.top else None)) for r in summary.in_scope)
    used = {x for pair in pairs for x in pair}
    labels = [x for x in order if x in used] + sorted(used - set(order) - {NO_DIFFERENTIAL})
    rows = [x for x in labels if any(e == x for e, _ in pairs)]
    columns = labels + ([NO_DIFFERENTIAL] if NO_DIFFERENTIAL in used else [])
    return Confusion(rows, columns, [[pairs[(r, c)] for c in columns] for r in rows])


def group_figures(summary: Summary) -> list[dict[str, Any]]:
    """Top-1, top-3 and MRR per diagnosis group of the expected diagnosis (out-of-scope samples left out)."""
    return [g for g in summary.as_json()["groups"] if g["group"] != OUT_OF_SCOPE]
