"""A pack's children's reference intervals (pack.yaml `reference_intervals`): checked whole at load, looked up by age
and sex. The decide stage reads a lab result against them only when the report gives neither a range nor a flag."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugin import units
from plugin.knowledge.checker import Checker
from plugin.knowledge.predicates import Vocabulary

SEXES = ("female", "male")


@dataclass(frozen=True, slots=True)
class Band:
    """One age band (inclusive min, exclusive max, in days) of one lab, for one sex or for both (sex None)."""

    low: float
    high: float
    min_days: float | None
    max_days: float | None
    sex: str | None
    sources: tuple[str, ...]

    def covers(self, age_days: float) -> bool:
        return (self.min_days is None or age_days >= self.min_days) and (self.max_days is None or age_days < self.max_days)


Intervals = Mapping[str, tuple[Band, ...]]  # lab id -> its bands


def bands_for(bands: tuple[Band, ...], age_days: float, sex: str | None) -> tuple[Band, ...]:
    """The band for a stated sex, or, when sex is not stated, each sex's band (one band when both sexes share it).
    Empty when a sex the reading needs has no band at this age: no reading rather than half of one."""
    chosen: list[Band] = []
    for s in ((sex,) if sex in SEXES else SEXES):
        band = next((b for b in bands if b.covers(age_days) and b.sex in (None, s)), None)
        if band is None:
            return ()
        if band not in chosen:
            chosen.append(band)
    return tuple(chosen)


def _days(quantity: Mapping[str, Any] | None) -> float | None:
    return None if quantity is None else units.to_days(quantity["value"], quantity["unit"])


def _overlap(a: Band, b: Band) -> bool:
    inf = float("inf")
    a_lo, a_hi = a.min_days if a.min_days is not None else -inf, a.max_days if a.max_days is not None else inf
    b_lo, b_hi = b.min_days if b.min_days is not None else -inf, b.max_days if b.max_days is not None else inf
    return a_lo < b_hi and b_lo < a_hi


def build_intervals(manifest: Mapping[str, Any], vocab: Vocabulary, sources: Mapping[str, Any], check: Checker) -> dict[str, tuple[Band, ...]]:
    """Every entry checked against the vocabulary and itself; a problem names its path in pack.yaml."""
    out: dict[str, tuple[Band, ...]] = {}
    for i, entry in enumerate(manifest.get("reference_intervals", [])):
        here = f"reference_intervals[{i}]"
        lab = entry["lab"]
        if lab not in vocab.lab_units:
            check.add("pack.yaml", f"{here}.lab", f"lab '{lab}' is not in the vocabulary")
            continue
        if lab in out:
            check.add("pack.yaml", f"{here}.lab", f"lab '{lab}' already has reference intervals")
        unit = vocab.lab_units[lab][0]
        if entry["unit"] != unit:
            check.add("pack.yaml", f"{here}.unit", f"unit '{entry['unit']}' is not the lab's unit '{unit}' (vocabulary.yaml labs)")
        bands: list[Band] = []
        for j, b in enumerate(entry["bands"]):
            where = f"{here}.bands[{j}]"
            low, high = float(b["low"]), float(b["high"])
            if low >= high:
                check.add("pack.yaml", where, f"low {low:g} is not below high {high:g}")
            if lab in vocab.lab_max and high > vocab.lab_max[lab]:
                check.add("pack.yaml", f"{where}.high", f"high {high:g} is above the lab's plausible maximum {vocab.lab_max[lab]:g}")
            lo_d, hi_d = _days(b["age"].get("min")), _days(b["age"].get("max"))
            if lo_d is not None and hi_d is not None and lo_d >= hi_d:
                check.add("pack.yaml", f"{where}.age", "age range can never hold: min is not below max")
            src = check.sources("pack.yaml", f"{where}.source", b["source"], sources)
            band = Band(low, high, lo_d, hi_d, b.get("sex"), src)
            for k, other in enumerate(bands):
                if band.sex in (None, other.sex) or other.sex is None:
                    if _overlap(band, other):
                        check.add("pack.yaml", f"{where}.age", f"overlaps bands[{k}]: two intervals for one age and sex")
            bands.append(band)
        out[lab] = tuple(bands)
    return out
