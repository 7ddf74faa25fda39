"""The knowledge author's view of a harness run, on the mini pack with samples whose every figure is worked out by hand.

Samples (mini pack: bone +2 bone-former / -1 calcium-former; calcium +2 calcium-former; proximal (hip) +0.5 bone-former;
priors bone-former 0, calcium-former -1; a diagnosis is shown only when a clue supports it):

    a  bone, hip, toes present     expects bone-former     bone-former 2.5 (High)                       -> rank 1
    b  calcium, hip                expects calcium-former  calcium-former 1.0, bone-former 0.5 (Moderate) -> rank 1
    d  calcium, hip                expects bone-former     calcium-former first, bone-former second      -> rank 2
    f  calcium, no site            expects bone-former     calcium-former alone                          -> not shown: a miss
    e  toes only                   out of scope            no differential
"""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from plugin import load_knowledge
from plugin.authoring import analysis, compare, coverage, report_html
from plugin.cli import main
from plugin.harness import Summary, run
from plugin.knowledge.catalog import Catalog
from plugin.settings import get_settings
from tests.conftest import MINI_CONCEPT, MINI_PACKS, mini_doc

TOES = {"id": "f2", "study": "s1", "status": "present", "code": {"system": MINI_CONCEPT, "code": "toe-anomaly", "display": "Toes"}}


def _calcium(site: bool = True) -> dict[str, Any]:
    doc = mini_doc()
    doc["findings"][0]["attributes"] = {"mineral": "calcium", "pattern": ["rim"]}
    if not site:
        del doc["findings"][0]["bodySite"], doc["findings"][0]["laterality"]
    return doc


SAMPLES: dict[str, tuple[dict[str, Any], str | None]] = {
    "a": ({**mini_doc(), "findings": [mini_doc()["findings"][0], TOES]}, "bone-former"),
    "b": (_calcium(), "calcium-former"),
    "d": (_calcium(), "bone-former"),
    "f": (_calcium(site=False), "bone-former"),
    "e": ({**mini_doc(), "findings": [TOES]}, None),
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("samples")
    for name, (doc, expected) in SAMPLES.items():
        (folder / f"{name}.json").write_text(json.dumps(doc), encoding="utf-8")
        (folder / f"{name}.expected.json").write_text(json.dumps({"expected_top": expected, "source": "test"}), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def summary(samples: Path, mini: Catalog) -> Summary:
    return run(samples, mini)


def pack_copy(tmp_path: Path, edit_clues: Any = None, edit_manifest: Any = None) -> Path:
    """A copy of the mini pack folder, its clues.yaml / pack.yaml changed by the given functions."""
    root = tmp_path / "packs"
    shutil.copytree(MINI_PACKS, root)
    for name, edit in (("clues.yaml", edit_clues), ("pack.yaml", edit_manifest)):
        if edit:
            path = root / "mini" / name
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            edit(data)
            path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root


def calcium_supports_bone_former(clues: dict[str, Any]) -> None:
    effect = next(c for c in clues["clues"] if c["id"] == "calcium")["effects"][0]
    effect["diagnosis"] = "bone-former"


# --- what moved -------------------------------------------------------------------------------------------------

def test_compare_names_what_rose_fell_missed_hit_and_relabelled(summary: Summary, mini: Catalog, samples: Path, tmp_path: Path) -> None:
    before = compare.snapshot(summary, mini)
    changed = load_knowledge(pack_copy(tmp_path, edit_clues=calcium_supports_bone_former))
    diff = compare.compare(before, compare.snapshot(run(samples, changed), changed))
    moves = lambda key: [(r["report"], r["rank_before"], r["rank_now"]) for r in diff[key]]  # noqa: E731
    assert moves("rose") == [("d", 2, 1), ("f", None, 1)]
    assert moves("fell") == [("b", 1, None)]
    assert moves("new_misses") == [("b", 1, None)] and moves("new_hits") == [("f", None, 1)]
    assert [(c["report"], c["diagnosis"], c["before"], c["now"], c["expected"]) for c in diff["likelihood_changes"]] == [
        ("b", "bone-former", "Moderate", "High", False), ("b", "calcium-former", "Moderate", compare.NOT_SHOWN, True),
        ("d", "bone-former", "Moderate", "High", True), ("d", "calcium-former", "Moderate", compare.NOT_SHOWN, False),
        ("f", "bone-former", compare.NOT_SHOWN, "High", True), ("f", "calcium-former", "Moderate", compare.NOT_SHOWN, False),
    ]
    assert diff["moved"] and not diff["added_reports"] and not diff["removed_reports"]
    assert compare.compare(before, before)["moved"] is False
    text = "\n".join(compare.as_text(diff, "run.json"))
    assert "Expected diagnosis fell (1):" in text and "New hits (1):" in text and "Likelihood labels changed (6;" in text


def test_compare_reports_samples_added_and_removed(summary: Summary, mini: Catalog) -> None:
    before = compare.snapshot(summary, mini)
    after = json.loads(json.dumps(before))
    after["reports"]["z"] = after["reports"].pop("a")
    diff = compare.compare(before, after)
    assert diff["added_reports"] == ["z"] and diff["removed_reports"] == ["a"] and diff["moved"]


def test_cli_save_then_compare_as_table_and_json(samples: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = tmp_path / "run.json"

    def harness(packs: Path, *args: str) -> Any:
        monkeypatch.setenv("DDX_MAPPINGS_DIR", str(packs))
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(main, ["harness", str(samples), *args])
        finally:
            get_settings.cache_clear()

    first = harness(MINI_PACKS, "--save", str(saved))
    assert first.exit_code == 1 and json.loads(saved.read_text())["format"] == compare.FORMAT  # f is a miss
    same = harness(MINI_PACKS, "--compare", str(saved))
    assert "Nothing moved" in same.output
    changed = pack_copy(tmp_path, edit_clues=calcium_supports_bone_former)
    table = harness(changed, "--compare", str(saved))
    assert "Expected diagnosis rose (2):" in table.output and "New misses" in table.output
    as_json = json.loads(harness(changed, "--compare", str(saved), "--format", "json").output)
    assert [r["report"] for r in as_json["compare"]["fell"]] == ["b"] and as_json["summary"]["reports"] == 5
    assert "compare" not in json.loads(harness(changed, "--format", "json").output)
    saved.write_text("{}", encoding="utf-8")
    refused = harness(changed, "--compare", str(saved))
    assert refused.exit_code == 2 and "not a saved harness run" in refused.output


# --- figures behind the report ------------------------------------------------------------------------------

def test_clue_stats_count_fired_and_decided(summary: Summary, mini: Catalog) -> None:
    stats = {s.clue: s for s in analysis.clue_stats(summary, mini)}
    got = {c: (s.known, s.fired, s.decided, s.helped, s.hurt) for c, s in stats.items()}
    assert got == {
        "bone": (4, 1, 0, 0, 0),  # fired in a only; without it bone-former still leads on proximal
        "calcium": (4, 3, 3, 1, 1),  # b helped, d hurt (bone-former first without it), f neither (nothing first without it)
        "recent-trauma": (0, 0, 0, 0, 0),
        "toes-normal": (1, 0, 0, 0, 0),  # stated (toes present in a), never true
        "high-phosphate": (0, 0, 0, 0, 0),
        "proximal": (3, 3, 0, 0, 0),
    }
    assert (stats["calcium"].helped_in, stats["calcium"].hurt_in) == (["b"], ["d"])


def test_confusion_by_group_and_by_diagnosis(summary: Summary, mini: Catalog) -> None:
    groups = analysis.confusion(summary, mini, "group")
    assert (groups.rows, groups.columns, groups.counts) == (["ossifying", "calcifying"], ["ossifying", "calcifying"], [[1, 2], [0, 1]])
    assert groups.off_diagonal() == [("ossifying", "calcifying", 2)]
    diagnoses = analysis.confusion(summary, mini, "diagnosis")
    assert diagnoses.rows == ["bone-former", "calcium-former"] and diagnoses.counts == [[1, 2], [0, 1]]


def test_wilson_interval() -> None:
    assert analysis.wilson(0, 0) is None
    low, high = analysis.wilson(2, 5)  # type: ignore[misc]
    assert round(low, 4) == 0.1176 and round(high, 4) == 0.7693
    assert analysis.wilson(5, 5)[1] == 1.0 and analysis.wilson(0, 5)[0] == 0.0  # type: ignore[index]


@pytest.mark.parametrize(("moderate", "verdict"), [((0.9, 1.0), "lower than stated"), ((0.0, 0.05), "higher than stated"),
                                                   ((0.3, 0.5), "as stated"), (None, "not stated")])
def test_calibration_states_each_band_against_what_was_observed(samples: Path, tmp_path: Path, moderate: Any, verdict: str) -> None:
    def state(manifest: dict[str, Any]) -> None:
        for band in manifest["scoring"]["likelihood"]:
            if band["code"] == "moderate" and moderate:
                band["stated_probability"] = {"min": moderate[0], "max": moderate[1]}

    catalog = load_knowledge(pack_copy(tmp_path, edit_manifest=state))
    bands = {b["code"]: b for b in analysis.calibration(run(samples, catalog), catalog)}
    assert (bands["high"]["shown"], bands["high"]["expected"], bands["high"]["verdict"]) == (1, 1, "not stated")
    mid = bands["moderate"]
    assert (mid["shown"], mid["expected"], mid["observed"], mid["verdict"]) == (5, 2, 0.4, verdict)
    assert mid["stated"] == (list(moderate) if moderate else None) and mid["interval95"] == [0.1176, 0.7693]
    assert (bands["low"]["shown"], bands["low"]["verdict"]) == (0, "never shown")


# --- coverage -------------------------------------------------------------------------------------------------

def test_coverage_lists_what_no_sample_uses_or_fires(summary: Summary, mini: Catalog) -> None:
    (pack,) = coverage.coverage(summary, mini)["packs"]
    assert (pack["samples"], pack["samples_in_scope"]) == (5, 4)
    assert pack["unused"] == {
        "concepts": ["trauma"], "attribute_values": ["pattern=sheet"], "body_sites": ["thigh"], "labs": ["phosphate"],
        "clues_never_fired": ["recent-trauma", "toes-normal", "high-phosphate"],
        "clues_never_stated": ["recent-trauma", "high-phosphate"],
        "next_steps_never_suggested": ["ct", "biopsy"], "cautions_never_shown": [],
        "diagnoses_never_expected": [], "diagnoses_never_shown": [],
    }
    assert pack["of"]["concepts"] == 3 and pack["of"]["clues_never_stated"] == 3


def test_cli_pack_coverage_on_the_shipped_pack() -> None:
    text = CliRunner().invoke(main, ["pack", "coverage", "sample_reports"])
    assert text.exit_code == 0 and "clues that never fire:" in text.output and "vocabulary concepts no sample uses:" in text.output
    data = json.loads(CliRunner().invoke(main, ["pack", "coverage", "sample_reports", "--format", "json"]).output)
    catalog = load_knowledge()
    assert set(data["packs"][0]["unused"]["clues_never_fired"]) < {c.id for c in catalog.packs[0].clues}


# --- the HTML file, read as text (the browser test opens it) ------------------------------------------------------

def test_html_report_is_one_file_with_embedded_svg_charts_and_nothing_to_fetch(summary: Summary, mini: Catalog) -> None:
    before = compare.snapshot(summary, mini)
    html = report_html.render(summary, mini, "samples", compare.compare(before, before), "run.json")
    assert html.startswith("<!DOCTYPE html>") and f'content="{report_html.CSP}"' in html
    charts = html.split('<img src="data:image/svg+xml;base64,')[1:]
    assert len(charts) == 5
    for chart in charts:
        svg = base64.b64decode(chart.split('"', 1)[0])
        assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
        assert b"<script" not in svg
    outside = html
    for chart in charts:
        outside = outside.replace(chart.split('"', 1)[0], "")
    for forbidden in ("<script", "<link", "@import", "url(", "http://", "https://", "<iframe"):
        assert forbidden not in outside
    for section in ('id="moved"', 'id="confusion"', 'id="groups"', 'id="calibration"', 'id="clues"', 'id="coverage"'):
        assert section in html
    assert "Nothing moved" in html and "<code>phosphate</code>" in html
