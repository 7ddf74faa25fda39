"""Probabilities from scores, with an explicit 'other' outcome, and the rule that decides whether they are shown."""

from __future__ import annotations

import json
import math

from click.testing import CliRunner

from plugin.authoring.posterior import OTHER, posterior
from plugin.cli import main
from tests.conftest import ROOT


def test_posterior_is_a_softmax_over_scores_and_other() -> None:
    p = posterior({"a": math.log(3.0), "b": 0.0}, 0.0)
    assert abs(sum(p.values()) - 1.0) < 1e-12
    assert abs(p["a"] - 0.6) < 1e-12 and abs(p["b"] - 0.2) < 1e-12 and abs(p[OTHER] - 0.2) < 1e-12


def test_the_held_out_calibration_is_reported_and_the_form_still_shows_bands_only() -> None:
    """With 37 held-out reports every band has 10 cases within its stated range, so the rule permits probabilities.
    Permits, not requires: 25 of those reports were seen by the pack's author before they were scored, and per-diagnosis
    posteriors are not checked by band rates, so the form keeps to bands (no percentage reaches the radiologist)."""
    run = CliRunner().invoke(main, ["harness", str(ROOT / "heldout_reports"), "--calibration"])
    assert "Brier score over" in run.output and "show probabilities: yes" in run.output
    sample = ROOT / "sample_reports" / "soft-tissue-calcification" / "007-mo-thigh-after-contusion.json"
    shown = CliRunner().invoke(main, ["evaluate", str(sample)])
    conclusion = json.loads(shown.output)["entry"][0]["resource"]["conclusion"]
    assert "(high)" in conclusion and "%" not in conclusion
