"""Probabilities from scores, with an explicit 'other' outcome, and the rule that decides whether they are shown."""

from __future__ import annotations

import math

from click.testing import CliRunner

from plugin.authoring.posterior import OTHER, posterior
from plugin.cli import main
from tests.conftest import ROOT


def test_posterior_is_a_softmax_over_scores_and_other() -> None:
    p = posterior({"a": math.log(3.0), "b": 0.0}, 0.0)
    assert abs(sum(p.values()) - 1.0) < 1e-12
    assert abs(p["a"] - 0.6) < 1e-12 and abs(p["b"] - 0.2) < 1e-12 and abs(p[OTHER] - 0.2) < 1e-12


def test_held_out_reports_are_too_few_to_show_probabilities() -> None:
    run = CliRunner().invoke(main, ["harness", str(ROOT / "heldout_reports"), "--calibration"])
    assert "show probabilities: no" in run.output and "Brier score over" in run.output
