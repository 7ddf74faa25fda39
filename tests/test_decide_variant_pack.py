"""The decide stage on a variant of the mini pack with what the mini pack lacks: a `required` clue, usual ages open at
one end, a third diagnosis, a lowest likelihood band above the report floor, a caution limited to rank 1, next steps
that weigh one neighbour, two tests always equally good, weights below the shown precision. Written to kill
decide-stage mutants (docs/mutation-testing.md); the expected numbers follow from the pack below by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from plugin import load_knowledge
from plugin.engine import result_of
from plugin.knowledge.catalog import Catalog
from plugin.model import EffectKind, PackResult
from tests.conftest import MINI_CONCEPT, MINI_PACKS, mini_doc


def _edit(folder: Path, name: str, change: Callable[[Any], None]) -> None:
    data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
    change(data)
    (folder / name).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def _effect(dx: str, kind: str, weight: float | None = None, reason: str = "test") -> dict[str, Any]:
    return {"diagnosis": dx, "effect": kind, **({} if weight is None else {"weight": weight}), "reason": reason}


def _scoring(pack: Any) -> None:
    pack["scoring"]["likelihood"] = [{"min_score": 2.0, "code": "high", "display": "High"},
                                     {"min_score": 1.0, "code": "moderate", "display": "Moderate"},
                                     {"min_score": 0.0, "code": "low", "display": "Low"}]
    pack["scoring"]["report_min_score"] = -1.0  # below the lowest band
    pack["scoring"]["next_step"]["neighbours"] = 1
    pack["scope"]["statement"] = "Calcification of lesion X."  # one sentence, ending in a capital X


def _diagnoses(data: Any) -> None:
    data["diagnoses"][1]["usual_age"] = {"range": {"max": {"value": 20, "unit": "a"}}, "source": ["test"]}  # calcium-former
    data["diagnoses"].append({"id": "mixed-former", "display": "Mixed former", "group": "calcifying", "frequency": "common",
                              "usual_age": {"range": {"min": {"value": 40, "unit": "a"}}, "source": ["test"]},
                              "missing_standard_code": "test", "source": ["test"]})


def _clues(data: Any) -> None:
    by_id = {c["id"]: c for c in data["clues"]}
    for clue in ("bone", "calcium"):
        by_id[clue]["effects"].append(_effect("mixed-former", "supports", 1.0))
    by_id["high-phosphate"]["effects"].append(_effect("mixed-former", "supports", 1.5))  # as much as for calcium-former
    by_id["recent-trauma"]["effects"].append(_effect("calcium-former", "required", reason="needs trauma"))
    data["clues"].append({"id": "several", "statement": "Two or more", "source": ["test"],
                          "when": {"finding": {"concept": "calcification", "count": {"min": 2}}},
                          "effects": [_effect("mixed-former", "supports", 2.0)]})
    data["clues"].append({"id": "female", "statement": "Female", "source": ["test"], "when": {"sex": "female"},
                          "effects": [_effect("mixed-former", "supports", 0.0004)]})  # shown to 3 decimals
    data["clues"].append({"id": "adult", "statement": "Adult", "source": ["test"], "when": {"age": {"min": {"value": 20, "unit": "a"}}},
                          "effects": [_effect("mixed-former", "supports", 0.0000004)]})  # below the precision of ranking


def _discriminators(data: Any) -> None:
    mri = {"id": "mri", "statement": "MRI for mineral type", "kind": "imaging", "resolves": ["calcium", "bone"], "source": ["test"]}
    data["discriminators"].insert(1, mri)  # always as good as CT, listed after it


@pytest.fixture(scope="module")
def variant(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("variant") / "packs"
    shutil.copytree(MINI_PACKS, root)
    folder = root / "mini"
    _edit(folder, "pack.yaml", _scoring)
    _edit(folder, "diagnoses.yaml", _diagnoses)
    _edit(folder, "clues.yaml", _clues)
    _edit(folder, "discriminators.yaml", _discriminators)
    _edit(folder, "cautions.yaml", lambda data: data["cautions"][0].__setitem__("within_rank", 1))
    return load_knowledge(root)


def doc(mineral: str | None = "calcium", age: float = 14, **changes: Any) -> dict[str, Any]:
    out = mini_doc(**changes)
    out["patient"]["age"]["value"] = age
    out["findings"][0]["attributes"] = {"pattern": ["rim"]} | ({"mineral": mineral} if mineral else {})
    return out


def trauma(status: str = "present", weeks: float = 4) -> dict[str, Any]:
    return {"id": "h1", "code": {"system": MINI_CONCEPT, "code": "trauma", "display": "Trauma"}, "status": status,
            "onsetBeforeStudy": {"value": weeks, "unit": "wk"}}


def decided(variant: Catalog, document: dict[str, Any], max_items: int = 5) -> PackResult:
    (pack,) = result_of(document, variant, max_items).packs
    return pack


def ranked(pack: PackResult) -> list[tuple[str, float, str]]:
    return [(c.diagnosis_id, c.score, c.likelihood.value) for c in pack.candidates]


def steps(pack: PackResult) -> dict[str, tuple[str, tuple[str, ...], float] | None]:
    """The separating test of the leading diagnosis: the footer's first question (per-diagnosis steps are the pack's own
    work-up since the radiologist's form; the mini pack defines none)."""
    top = pack.candidates[0].diagnosis_id if pack.candidates else None
    q = pack.questions[0] if pack.questions else None
    return {top: q and (q.discriminator_id, q.neighbours, q.separation)} if top else {}


# --- a required clue: unknown is listed as not stated, false excludes, true does nothing ---

def test_a_required_clue_not_stated_is_listed_and_costs_nothing(variant: Catalog) -> None:
    pack = decided(variant, doc())
    # calcium-former -1 + 2; bone-former 0.5 proximal; mixed-former 1 calcium - 1 age (usual from 40 a)
    assert ranked(pack) == [("calcium-former", 1.0, "moderate"), ("bone-former", 0.5, "low"), ("mixed-former", 0.0, "low")]
    first = pack.candidates[0]
    assert [(o.clue_id, o.effect, o.weight) for o in first.not_stated] == [
        ("high-phosphate", EffectKind.SUPPORTS, 1.5), ("recent-trauma", EffectKind.REQUIRED, 0.0)]
    assert pack.excluded == ()


@pytest.mark.parametrize(("history", "why"), [(trauma("absent"), "stated otherwise"), (trauma("present", 52), "stated otherwise")],
                         ids=["stated-absent", "too-long-ago"])
def test_a_required_clue_stated_false_excludes_and_says_why(variant: Catalog, history: dict[str, Any], why: str) -> None:
    pack = decided(variant, doc(history=[history]))
    assert pack.excluded == (("calcium-former", f"Trauma 2-8 weeks before ({why}): needs trauma"),)
    assert ranked(pack) == [("bone-former", 0.5, "low"), ("mixed-former", 0.0, "low")]
    assert [(t.clue_id, [(f.diagnosis, f.effect) for f in t.fired]) for t in pack.clues if t.clue_id == "recent-trauma"] == [
        ("recent-trauma", [("calcium-former", EffectKind.REQUIRED)])]
    assert pack.candidates[1].opposing[0].clue_id == "age-outside-usual-range"


def test_a_required_clue_stated_true_keeps_the_diagnosis_at_its_score(variant: Catalog) -> None:
    pack = decided(variant, doc(history=[trauma()]))
    assert pack.excluded == ()
    assert ranked(pack) == [("bone-former", 1.5, "moderate"), ("calcium-former", 1.0, "moderate"), ("mixed-former", 0.0, "low")]
    calcium = pack.candidates[1]
    assert calcium.opposing == () and [o.clue_id for o in calcium.not_stated] == ["high-phosphate"]
    assert [(f.diagnosis, f.effect) for t in pack.clues if t.clue_id == "recent-trauma" for f in t.fired] == [
        ("bone-former", EffectKind.SUPPORTS)]


def test_the_first_exclusion_is_the_reason_given(variant: Catalog) -> None:
    document = doc(history=[trauma("absent")])
    document["findings"].append({"id": "f2", "study": "s1", "status": "absent",
                                 "code": {"system": MINI_CONCEPT, "code": "toe-anomaly", "display": "Toe anomaly"}})
    pack = decided(variant, document)
    # Excluded twice (trauma stated absent, toes stated normal): the first clue in pack order gives the reason.
    assert pack.excluded == (("calcium-former", "Trauma 2-8 weeks before (stated otherwise): needs trauma"),)


# --- usual ages open at one end; the lowest band reached from below ---

@pytest.mark.parametrize(
    ("age", "scores"),
    [(19, {"calcium-former": 1.0, "mixed-former": 0.0}), (20, {"calcium-former": 0.0, "mixed-former": 0.0}),
     (39, {"calcium-former": 0.0, "mixed-former": 0.0}), (40, {"calcium-former": 0.0, "mixed-former": 1.0})],
)
def test_a_usual_age_open_at_one_end(variant: Catalog, age: float, scores: dict[str, float]) -> None:
    # calcium-former: usual below 20 a; mixed-former: usual from 40 a; both score 1.0 before any age penalty.
    got = decided(variant, doc(age=age)).trace["scores"]
    assert {d: got[d] for d in scores} == scores


def test_a_score_below_every_band_gets_the_lowest(variant: Catalog) -> None:
    pack = decided(variant, doc(age=40))
    assert ranked(pack) == [("mixed-former", 1.0, "moderate"), ("calcium-former", 0.0, "low"), ("bone-former", -0.5, "low")]
    assert pack.candidates[2].likelihood_display == "Low"


# --- cautions within their rank, next steps against one neighbour ---

def test_a_caution_below_its_rank_neither_shows_nor_forbids(variant: Catalog) -> None:
    document = doc(mineral=None)
    document["findings"][0]["count"] = 3  # mixed-former 2 - 1 (age) = 1.0 ranks above bone-former 0.5
    pack = decided(variant, document)
    assert ranked(pack) == [("mixed-former", 1.0, "moderate"), ("bone-former", 0.5, "low")]
    assert [c.cautions for c in pack.candidates] == [(), ()]
    # biopsy resolves bone, calcium and phosphate: 1 / (1 + 0.5) * (|1 - 2| + |1 - 0| + |1.5 - 0|) = 2.333, more than CT's 1.333
    assert steps(pack) == {"mixed-former": ("biopsy", ("bone-former",), 2.333)}


def test_a_caution_at_its_rank_shows_and_forbids(variant: Catalog) -> None:
    pack = decided(variant, doc(mineral=None))
    assert ranked(pack) == [("bone-former", 0.5, "low")]
    assert [c.id for c in pack.candidates[0].cautions] == ["no-biopsy"]
    # One neighbour: calcium-former and mixed-former are both 1.5 away; the first in pack order is taken.
    # CT: 1 / 2.5 * (|2 - -1| + |0 - 2|) = 2.0, and MRI as much: the first listed is given; biopsy (2.6) is forbidden.
    assert steps(pack) == {"bone-former": ("ct", ("calcium-former",), 2.0)}


def test_the_nearest_neighbour_is_the_one_closest_in_score(variant: Catalog) -> None:
    pack = decided(variant, doc(history=[trauma()]))
    # bone-former 1.5: calcium-former (0.5 away) is nearer than mixed-former (1.5 away) although both are shown.
    # mixed-former's nearest is calcium-former, which a high phosphate would raise as much: no test separates them.
    assert steps(pack) == {"bone-former": ("phosphate-test", ("calcium-former",), 1.0)}


def test_a_test_that_separates_nothing_is_never_the_next_step(variant: Catalog) -> None:
    document = doc(age=40)
    del document["findings"][0]["bodySite"]  # bone-former: nothing for it, not shown
    pack = decided(variant, document)
    assert ranked(pack) == [("mixed-former", 1.0, "moderate"), ("calcium-former", 0.0, "low")]
    assert steps(pack) == {"mixed-former": None}  # only the phosphate test is open: it moves both by 1.5


def test_scores_are_given_to_three_decimals(variant: Catalog) -> None:
    document = doc()
    document["patient"]["sex"] = "female"
    pack = decided(variant, document)
    # mixed-former: 1 calcium + 0.0004 female - 1 age = 0.0004
    assert ranked(pack) == [("calcium-former", 1.0, "moderate"), ("bone-former", 0.5, "low"), ("mixed-former", 0.0, "low")]
    assert pack.trace == {"scores": {"bone-former": 0.5, "calcium-former": 1.0, "mixed-former": 0.0}}


def test_out_of_scope_quotes_the_first_sentence_of_the_scope_whole(variant: Catalog) -> None:
    document = doc()
    document["findings"][0]["status"] = "absent"
    del document["findings"][0]["attributes"], document["findings"][0]["size"]
    pack = decided(variant, document)
    assert pack.scope_reason == "Outside the scope of 'Mini test pack', which requires: Calcification of lesion X. This report states otherwise."


def test_scores_equal_to_six_decimals_keep_the_pack_order(variant: Catalog) -> None:
    pack = decided(variant, doc(age=25))
    # calcium-former: -1 + 2 - 1 (age) = 0; mixed-former: 1 - 1 (age) + 0.0000004 (adult): equal to 6 decimals
    assert ranked(pack) == [("bone-former", 0.5, "low"), ("calcium-former", 0.0, "low"), ("mixed-former", 0.0, "low")]


def test_a_score_at_the_floor_is_shown(variant: Catalog) -> None:
    document = doc(mineral="bone", age=25)
    document["findings"].append(doc(mineral="calcium")["findings"][0] | {"id": "f2"})
    pack = decided(variant, document)
    # calcium-former: -1 prior - 1 bone + 2 calcium - 1 age = -1.0, the pack's floor; mixed-former: 1 + 1 - 1 (age)
    assert ranked(pack) == [("bone-former", 2.5, "high"), ("mixed-former", 1.0, "moderate"), ("calcium-former", -1.0, "low")]
