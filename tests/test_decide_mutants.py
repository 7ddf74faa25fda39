"""The decide stage on the mini test pack, as a reader of the differential sees it: which diagnoses are shown in what
order with what score and likelihood band, what is listed for, against and not stated, which next step and which caution,
what is excluded and why, and when a pack is out of scope. Written to kill the mutants of plugin/decide/ that the
other tests let live (docs/mutation-testing.md). The expected numbers follow from tests/data/packs/mini by hand.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from plugin import load_knowledge, paths
from plugin.engine import result_of
from plugin.knowledge.catalog import Catalog
from plugin.model import Candidate, EffectKind, PackResult
from tests.conftest import MINI_CONCEPT, MINI_PACKS, load_sample, mini_doc


def decided(mini: Catalog, doc: dict[str, Any], max_items: int = 5) -> PackResult:
    (pack,) = result_of(doc, mini, max_items).packs
    return pack


def ranked(pack: PackResult) -> list[tuple[str, float, str, str]]:
    return [(c.diagnosis_id, c.score, c.likelihood.value, c.likelihood_display) for c in pack.candidates]


def only(pack: PackResult, dx: str) -> Candidate:
    return next(c for c in pack.candidates if c.diagnosis_id == dx)


def clues(outcomes: Any) -> list[tuple[str, float]]:
    return [(o.clue_id, o.weight) for o in outcomes]


def concept(code: str) -> dict[str, str]:
    return {"system": MINI_CONCEPT, "code": code, "display": code}


def mineral(value: str | None, **changes: Any) -> dict[str, Any]:
    """The mini document with the calcification's mineral stated as `value` (None: not stated)."""
    doc = mini_doc(**changes)
    doc["findings"][0]["attributes"] = {"pattern": ["rim"]} | ({"mineral": value} if value else {})
    return doc


def toes(status: str) -> dict[str, Any]:
    return {"id": "f2", "study": "s1", "code": concept("toe-anomaly"), "status": status}


def trauma(weeks: float | None = 4, status: str = "present") -> dict[str, Any]:
    item: dict[str, Any] = {"id": "h1", "code": concept("trauma"), "status": status}
    if weeks is not None:
        item["onsetBeforeStudy"] = {"value": weeks, "unit": "wk"}
    return item


def phosphate(value: float) -> dict[str, Any]:
    return {"id": "l1", "code": {"system": "http://loinc.org", "code": "2777-1", "display": "Phosphate"},
            "value": {"value": value, "unit": "mg/dL"}, "referenceRange": {"low": 2.5, "high": 4.5}}


# --- bone stated: bone-former alone, high, with what fired and what is still open ---

def test_bone_stated_shows_the_bone_former_alone(mini: Catalog) -> None:
    pack = decided(mini, mini_doc())
    assert pack.in_scope and pack.scope_reason == "In scope of 'Mini test pack'."
    assert ranked(pack) == [("bone-former", 2.5, "high", "High")]  # 0 prior + 2 bone + 0.5 proximal
    assert pack.trace == {"scores": {"bone-former": 2.5, "calcium-former": -2.0}}  # -1 prior - 1 bone; nothing for it: not shown
    assert pack.excluded == ()
    (top,) = pack.candidates
    assert (top.rank, top.display, top.group_id, top.group_display, top.outside_pack) == (1, "Bone former", "ossifying", "Ossifying", False)
    assert clues(top.supporting) == [("bone", 2.0), ("proximal", 0.5)]  # strongest first
    assert [o.fact_ids for o in top.supporting] == [("finding:f1",), ("finding:f1",)]
    assert clues(top.not_stated) == [("recent-trauma", 1.0)] and top.opposing == ()
    assert [(c.id, c.statement, c.sources) for c in top.cautions] == [("no-biopsy", "Do not biopsy.", ("test",))]


def test_clue_truths_and_what_fired(mini: Catalog) -> None:
    pack = decided(mini, mini_doc())
    assert pack.clue_truths == {"bone": True, "calcium": False, "recent-trauma": None, "toes-normal": None,
                                "high-phosphate": None, "proximal": True}
    fired = {t.clue_id: [(f.diagnosis, f.effect, f.weight, f.reason) for f in t.fired] for t in pack.clues}
    assert fired == {"bone": [("bone-former", EffectKind.SUPPORTS, 2.0, "test"), ("calcium-former", EffectKind.OPPOSES, 1.0, "test")],
                     "calcium": [], "recent-trauma": [], "toes-normal": [], "high-phosphate": [],
                     "proximal": [("bone-former", EffectKind.SUPPORTS, 0.5, "test")]}
    assert [(t.clue_id, t.statement, t.truth) for t in pack.clues][:2] == [("bone", "True bone", True), ("calcium", "Amorphous calcium", False)]


def test_next_step_separates_from_the_nearest_competitor(mini: Catalog) -> None:
    step = (decided(mini, mini_doc()).questions or (None,))[0]  # the leader's separating test: the footer's first question
    # Only the phosphate test is still open; calcium-former (not shown, 4.5 points away) is the neighbour:
    # 1 / (1 + 4.5) * |0 - 1.5| = 0.273.
    assert step is not None
    assert (step.discriminator_id, step.statement, step.kind, step.neighbours, step.separation, step.sources) == (
        "phosphate-test", "Serum phosphate", "laboratory", ("calcium-former",), 0.273, ("test",))


def test_mineral_not_stated_asks_for_ct_and_never_biopsy_while_the_caution_holds(mini: Catalog) -> None:
    pack = decided(mini, mineral(None))
    assert ranked(pack) == [("bone-former", 0.5, "moderate", "Moderate")]
    top = pack.candidates[0]
    assert clues(top.not_stated) == [("bone", 2.0), ("recent-trauma", 1.0)]
    # Biopsy would separate most (2.6) but the caution forbids it; CT: 1 / (1 + 1.5) * (|2 - -1| + |0 - 2|) = 2.0.
    q = pack.questions[0] if pack.questions else None
    assert q is not None and (q.discriminator_id, q.separation) == ("ct", 2.0)


def test_a_stated_lab_closes_its_test(mini: Catalog) -> None:
    top = decided(mini, mini_doc(labs=[phosphate(3.0)])).candidates[0]
    assert top.next_step is None  # CT and biopsy resolve the stated bone clue, the phosphate test a stated lab


# --- calcium stated: two diagnoses ranked, bands, cut, cautions by rank ---

def test_calcium_and_high_phosphate_rank_the_calcium_former_first(mini: Catalog) -> None:
    pack = decided(mini, mineral("calcium", labs=[phosphate(6.0)]))
    assert ranked(pack) == [("calcium-former", 2.5, "high", "High"), ("bone-former", 0.5, "moderate", "Moderate")]
    assert [c.rank for c in pack.candidates] == [1, 2]
    first, second = pack.candidates
    assert clues(first.supporting) == [("calcium", 2.0), ("high-phosphate", 1.5)]
    assert [o.fact_ids for o in first.supporting] == [("finding:f1",), ("lab:l1",)]
    assert first.cautions == () and [c.id for c in second.cautions] == ["no-biopsy"]  # the caution belongs to bone-former
    assert first.next_step is None and second.next_step is None  # every test's clues are stated


def test_what_counts_against_is_listed_with_its_clue_and_reason(mini: Catalog) -> None:
    doc = mineral("bone")
    doc["findings"].append(mineral("calcium")["findings"][0] | {"id": "f2"})  # a second calcification, of calcium
    pack = decided(mini, doc)
    assert ranked(pack) == [("bone-former", 2.5, "high", "High"), ("calcium-former", 0.0, "moderate", "Moderate")]
    calcium = only(pack, "calcium-former")
    (against,) = calcium.opposing
    assert (against.clue_id, against.statement, against.effect, against.weight, against.reason, against.sources, against.fact_ids) == (
        "bone", "True bone", EffectKind.OPPOSES, 1.0, "test", ("test",), ("finding:f1", "finding:f2"))
    (support,) = calcium.supporting
    assert (support.clue_id, support.statement, support.effect, support.reason) == ("calcium", "Amorphous calcium", EffectKind.SUPPORTS, "test")


def test_the_cut_keeps_the_best(mini: Catalog) -> None:
    pack = decided(mini, mineral("calcium", labs=[phosphate(6.0)]), max_items=1)
    assert ranked(pack) == [("calcium-former", 2.5, "high", "High")]
    assert pack.trace == {"scores": {"bone-former": 0.5, "calcium-former": 2.5}}


def test_alone_after_the_cut_it_is_separated_from_those_cut(mini: Catalog) -> None:
    pack = decided(mini, mineral("calcium"), max_items=1)
    assert ranked(pack) == [("calcium-former", 1.0, "moderate", "Moderate")]
    top = pack.candidates[0]
    assert top.cautions == ()  # bone-former's caution goes with it
    # The neighbour is bone-former (0.5 points away, cut): only the phosphate test is open, 1 / 1.5 * 1.5 = 1.0.
    q = pack.questions[0] if pack.questions else None
    assert q is not None
    assert (q.discriminator_id, q.neighbours, q.separation) == ("phosphate-test", ("bone-former",), 1.0)


def test_equal_scores_keep_the_pack_order(mini: Catalog) -> None:
    doc = mineral("calcium", history=[trauma(4)])
    del doc["findings"][0]["bodySite"]  # bone-former: trauma 1.0; calcium-former: -1 + 2 = 1.0
    pack = decided(mini, doc)
    assert ranked(pack) == [("bone-former", 1.0, "moderate", "Moderate"), ("calcium-former", 1.0, "moderate", "Moderate")]


@pytest.mark.parametrize(("value", "band"), [(2.0, ("high", "High")), (1.999, ("moderate", "Moderate")), (0.0, ("moderate", "Moderate")),
                                             (-0.5, ("low", "Low"))])
def test_likelihood_bands_at_their_edges(mini: Catalog, value: float, band: tuple[str, str]) -> None:
    from plugin.decide.rank import likelihood

    code, display = likelihood(mini.packs[0], value)
    assert (code.value, display) == band


# --- exclusion, age, out of scope ---

def test_toes_stated_normal_excludes_the_calcium_former_and_says_why(mini: Catalog) -> None:
    doc = mineral("calcium", labs=[phosphate(6.0)])
    doc["findings"].append(toes("absent"))
    pack = decided(mini, doc)
    assert ranked(pack) == [("bone-former", 0.5, "moderate", "Moderate")]
    assert pack.excluded == (("calcium-former", "Toes stated normal (stated): test"),)
    assert pack.trace["scores"]["calcium-former"] == 2.5  # excluded, not scored down
    doc["findings"][-1]["status"] = "present"
    assert [c.diagnosis_id for c in decided(mini, doc).candidates] == ["calcium-former", "bone-former"]


@pytest.mark.parametrize(("years", "penalised"), [(9, True), (10, False), (29, False), (30, True)])
def test_age_outside_the_usual_range_lowers_the_score_and_says_so(mini: Catalog, years: int, penalised: bool) -> None:
    doc = mini_doc()
    doc["patient"]["age"] = {"value": years, "unit": "a"}
    top = decided(mini, doc).candidates[0]
    assert top.score == (1.5 if penalised else 2.5)
    if penalised:
        (age,) = top.opposing
        assert (age.clue_id, age.effect, age.weight, age.statement) == (
            "age-outside-usual-range", EffectKind.AGE, 1.0, "Age outside the usual range (10 years to 30 years)")
        assert age.reason == "Unusual, not impossible, at this age." and age.sources == ("test",)
    else:
        assert top.opposing == ()


def test_no_age_no_age_penalty(mini: Catalog) -> None:
    doc = mini_doc()
    doc["patient"] = {"sex": "male"}
    assert ranked(decided(mini, doc)) == [("bone-former", 2.5, "high", "High")]


@pytest.mark.parametrize(("status", "why"), [("absent", "states otherwise"), (None, "does not state it")])
def test_out_of_scope_says_what_the_pack_requires(mini: Catalog, status: str | None, why: str) -> None:
    doc = mini_doc()
    if status is None:
        doc["findings"] = [toes("present")]
    else:
        doc["findings"][0] = {"id": "f1", "study": "s1", "code": concept("calcification"), "status": status}
    pack = decided(mini, doc)
    assert pack.in_scope is False and pack.candidates == () and pack.excluded == ()
    assert (pack.clue_truths, pack.trace, pack.clues) == ({}, {}, ())  # no clue is evaluated outside the scope
    assert pack.scope_reason == f"Outside the scope of 'Mini test pack', which requires: Calcification stated present. This report {why}."
    assert (pack.pack_id, pack.pack_version, pack.pack_title, pack.intended_use) == ("mini", "1.0.0", "Mini test pack", "Tests only.")


def test_a_pack_out_of_scope_does_not_stop_the_next(tmp_path: Path) -> None:
    for pack in [MINI_PACKS / "mini", *sorted(p.parent for p in paths.MAPPINGS_DIR.glob("*/pack.yaml"))]:
        (tmp_path / pack.name).symlink_to(pack, target_is_directory=True)
    both = load_knowledge(tmp_path)
    result = result_of(load_sample("061-fop-neck-back-bridges-great-toes"), both)
    assert [(p.pack_id, p.in_scope) for p in result.packs] == [("mini", False), ("soft-tissue-calcification", True)]
    assert result.packs[1].candidates and result.candidates == result.packs[1].candidates
