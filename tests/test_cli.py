"""The ddx command line: evaluate, validate, explain and pack check, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from plugin.cli import main
from tests.conftest import sample_paths

FOP = next(p for p in sample_paths() if p.stem == "065-hard-fop-toes-not-described")


def test_evaluate_writes_a_bundle_and_contained_on_request() -> None:
    run = CliRunner().invoke(main, ["evaluate", str(FOP)])
    assert run.exit_code == 0
    bundle = json.loads(run.output)
    assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["resourceType"] == "DiagnosticReport"
    contained = json.loads(CliRunner().invoke(main, ["evaluate", str(FOP), "--shape", "contained"]).output)
    assert contained["resourceType"] == "DiagnosticReport" and contained["contained"]


def test_validate_prints_each_problem_with_its_place_and_exits_1(tmp_path: Path) -> None:
    doc = json.loads(FOP.read_text(encoding="utf-8"))
    del doc["findings"][0]["status"]
    doc["patient"]["sex"] = "unknownish"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    run = CliRunner().invoke(main, ["validate", str(bad)])
    assert run.exit_code == 1
    assert "findings[0].status: [required]" in run.output and "patient.sex: [code-invalid]" in run.output
    ok = CliRunner().invoke(main, ["validate", str(FOP)])
    assert ok.exit_code == 0 and "valid" in ok.output


def test_validate_refuses_non_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"a": NaN}', encoding="utf-8")
    run = CliRunner().invoke(main, ["validate", str(bad)])
    assert run.exit_code == 1 and "NaN" in run.output


def test_explain_shows_three_valued_clues_and_why_the_next_step() -> None:
    run = CliRunner().invoke(main, ["explain", str(FOP)])
    assert run.exit_code == 0
    assert "TRUE    painful-flare-ups" in run.output
    # the toes are not described: both the malformation and its absence stay unknown, neither counts
    assert "unknown great-toe-malformation:" in run.output and "unknown great-toes-normal:" in run.output
    assert "Examine and radiograph both feet" in run.output and "separates the leader best from" in run.output
    assert "OVERRIDING caution: Possible FOP" in run.output


def test_pack_check_passes_on_the_shipped_pack_and_lists_missing_codes() -> None:
    run = CliRunner().invoke(main, ["pack", "check"])
    assert run.exit_code == 0
    assert "diagnoses without a standard code" in run.output
