"""Lab results the report gives without a range or a flag, read against the pack's children's reference intervals.

Generic: which labs have intervals, and what they are, is pack data. The report's own range or interpretation always
wins; with no age there is no reading. When sex is not stated and the sexes' intervals differ at this age, both are
used safely (high only above both highs, low only below both lows, normal only within both) and the header says so.
The reading feeds only the clues: the Result keeps the report as given, so no writer ever shows the pack's range as
the report's. Every statement that rests on a reading says where its range came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, replace

from plugin.decide.clues import Evidence
from plugin.knowledge.intervals import Band, bands_for
from plugin.knowledge.model import Clue, Pack
from plugin.model import ClueTrace, LabResult, Report, Truth


@dataclass(frozen=True, slots=True)
class Reading:
    lab: LabResult  # as the report gave it
    bands: tuple[Band, ...]  # one, or one per sex when sex is not stated and they differ


def _read(x: LabResult, bands: tuple[Band, ...]) -> LabResult:
    if len(bands) == 1:
        return replace(x, low=bands[0].low, high=bands[0].high)
    v = x.value if x.value is not None else 0.0
    if all(v > b.high for b in bands):
        flag: str | None = "H"
    elif all(v < b.low for b in bands):
        flag = "L"
    elif all(b.low <= v <= b.high for b in bands):
        flag = "N"
    else:
        flag = None  # high for one sex, normal for the other: not stated
    return replace(x, flag=flag)


def read_labs(pack: Pack, report: Report) -> tuple[Report, tuple[Reading, ...]]:
    """The report as the clues read it (ranges from the pack where the report gives none), and what was read so."""
    if report.age_days is None or not pack.intervals:
        return report, ()
    readings: list[Reading] = []
    labs: list[LabResult] = []
    for x in report.labs:
        stated = x.low is not None or x.high is not None or x.flag is not None  # the report's own reading wins
        bands = () if stated or x.value is None or x.test is None else bands_for(pack.intervals.get(x.test, ()), report.age_days, report.sex)
        if bands:
            readings.append(Reading(x, bands))
            x = _read(x, bands)
        labs.append(x)
    if not readings:
        return report, ()
    by_test: defaultdict[str, list[LabResult]] = defaultdict(list)
    for x in labs:
        if x.test is not None:
            by_test[x.test].append(x)
    return replace(report, labs=tuple(labs), labs_by_test={k: tuple(v) for k, v in by_test.items()}), tuple(readings)


def _lab_name(pack: Pack, test: str) -> str:
    shown = pack.display("lab", test)
    return shown[:1].lower() + shown[1:]


def sex_not_stated(pack: Pack, readings: tuple[Reading, ...]) -> tuple[str, ...]:
    """The header's line when a lab was read against both sexes' intervals (sex missing where it matters)."""
    names = list(dict.fromkeys(_lab_name(pack, r.lab.test) for r in readings if len(r.bands) > 1 and r.lab.test))
    if not names:
        return ()
    joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "was" if len(names) == 1 else "were"
    return (f"Sex not stated: {joined} {verb} read against both sexes' children's ranges.",)


def _note(pack: Pack, reading: Reading) -> str:
    unit = pack.vocabulary.lab_units[reading.lab.test or ""][0]
    ranges = " and ".join(f"{b.low:g}-{b.high:g}" for b in reading.bands)
    whose = "both sexes' children's reference intervals" if len(reading.bands) > 1 else "children's reference interval"
    return f"{_lab_name(pack, reading.lab.test or '')}: no range in the report, read against the pack's {whose} for age, {ranges} {unit}"


def vouch(pack: Pack, report: Report, truths: Mapping[str, Truth], readings: tuple[Reading, ...],
          evidence: Mapping[str, Evidence], trace: tuple[ClueTrace, ...]) -> tuple[ClueTrace, ...]:
    """Each outcome (and `ddx explain` line) whose clue's truth comes from a reading says so, and cites the interval."""
    if not readings:
        return trace
    tests = {r.lab.test for r in readings}
    # truths are what the clues made of the readings; a clue whose truth the report alone would not give rests on one
    changed: dict[str, Clue] = {c.id: c for c in pack.clues if c.labs & tests and c.test(report) != truths[c.id]}
    notes: dict[str, tuple[str, tuple[str, ...]]] = {}
    for clue in changed.values():
        used = [r for r in readings if r.lab.test in clue.labs]
        notes[clue.id] = ("; ".join(dict.fromkeys(_note(pack, r) for r in used)),
                          tuple(dict.fromkeys(s for r in used for b in r.bands for s in b.sources)))
    for ev in evidence.values():
        ev.notes = notes  # said by each outcome built for a diagnosis shown (Evidence.outcomes)
        if ev.excluded:
            for clue_id, (note, _) in notes.items():
                statement = changed[clue_id].statement
                if ev.excluded.startswith(statement):
                    ev.excluded = f"{statement.rstrip('.')} ({note})." + ev.excluded[len(statement):]
    return tuple(replace(t, statement=f"{t.statement.rstrip('.')} ({notes[t.clue_id][0]}).") if t.clue_id in notes else t
                 for t in trace)
