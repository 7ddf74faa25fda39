"""Probabilities from the scores, and whether they may be shown: the calibration the radiologist's form depends on.

Scores are sums of ln likelihood ratios, so softmax over a pack's diagnoses gives posterior probabilities; the list is
not exhaustive, so an explicit "other / not in this pack" outcome takes part with the pack's scoring.other_score.
Calibration is measured on held-out reports (never on the samples the weights were set against): per band, how often
its diagnoses were the expected one, and the Brier score of the probabilities. A probability is shown to the
radiologist only if every band with at least MIN_CASES diagnoses lies within TOLERANCE of what it states.
"""

from __future__ import annotations

import math
from typing import Any

from plugin.authoring.analysis import calibration, sections
from plugin.harness import Summary
from plugin.knowledge.catalog import Catalog

OTHER = "(other / not in this pack)"
MIN_CASES = 10
TOLERANCE = 0.15


def posterior(scores: dict[str, float], other_score: float) -> dict[str, float]:
    """Softmax over the pack's diagnoses plus the 'other' outcome (numerically stable)."""
    values = {**scores, OTHER: other_score}
    top = max(values.values())
    weights = {d: math.exp(s - top) for d, s in values.items()}
    total = sum(weights.values())
    return {d: w / total for d, w in weights.items()}


def brier(summary: Summary, catalog: Catalog) -> dict[str, Any]:
    """Mean multi-outcome Brier score over in-scope reports (0 is perfect; 2 is certain and wrong)."""
    total, n = 0.0, 0
    for r, pack, section in sections(summary, catalog):
        if r.case.expected_top is None:
            continue
        excluded = {d for d, _ in section.excluded}
        scores = {d: float(s) for d, s in section.trace["scores"].items() if d not in excluded}
        p = posterior(scores, float(pack.raw["manifest"]["scoring"].get("other_score", 0.0)))
        truth = r.case.expected_top if r.case.expected_top in p else OTHER
        total += sum((q - (1.0 if d == truth else 0.0)) ** 2 for d, q in p.items())
        n += 1
    return {"reports": n, "brier": round(total / n, 4) if n else None}


def report(summary: Summary, catalog: Catalog) -> dict[str, Any]:
    bands = calibration(summary, catalog)
    judged = [b for b in bands if b["shown"] >= MIN_CASES and b["stated"]]
    within = all(b["stated"][0] - TOLERANCE <= b["observed"] <= b["stated"][1] + TOLERANCE for b in judged)
    every_band_judged = len(judged) == len([b for b in bands if b["stated"]])
    return {"bands": bands, **brier(summary, catalog), "min_cases": MIN_CASES, "tolerance": TOLERANCE,
            "show_probabilities": within and every_band_judged,
            "why": "every band has enough cases and lies within tolerance" if within and every_band_judged else
            f"not every band has {MIN_CASES} or more cases within {TOLERANCE:.0%} of what it states: show bands only"}
