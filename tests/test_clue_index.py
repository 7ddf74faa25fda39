"""Decide visits only the clues that ask about something the report states (plugin/decide/clues.py, per concept and
lab, built once per pack); every other clue must be exactly what running it would give: unknown. Checked against
running every clue of the pack, on the bundled and held-out reports and on documents drawn from the vocabulary, for
the shipped pack and the mini pack, and so are the lists built from what fired (for, against, not stated)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plugin import read
from plugin.decide.clues import evaluate, not_stated
from plugin.decide.reference import read_labs
from plugin.knowledge.catalog import Catalog
from plugin.model import EffectKind, Report
from tests.conftest import ROOT, SAMPLES
from tests.strategies import findings_documents

DOCUMENTS = sorted(p for folder in (SAMPLES, ROOT / "heldout_reports") for p in folder.rglob("*.json")
                   if not p.name.endswith(".expected.json"))


def fires(effect: EffectKind, truth: bool) -> bool:
    """The rule, said here again so that the test does not take it from the code it checks: supports, opposes and
    excludes act when their clue is true, required when it is false."""
    return truth is (effect is not EffectKind.REQUIRED)


def _reports(catalog: Catalog, doc: Any) -> list[tuple[Any, Report]]:
    report = read.read(doc, catalog, read.form_of(doc))
    return [(pack, read_labs(pack, report)[0]) for pack in catalog.packs if pack.scope(report) is True]


def _every_clue_run(pack: Any, report: Report) -> None:
    truths, evidence, trace = evaluate(pack, report)
    expected = {clue.id: clue.test(report) for clue in pack.clues}
    assert truths == expected  # same truths, in the pack's order
    assert list(truths) == [c.id for c in pack.clues]
    assert [(t.clue_id, t.truth, [f.diagnosis for f in t.fired]) for t in trace] == [
        (c.id, expected[c.id], [e.diagnosis for e in c.effects if expected[c.id] is not None and fires(e.effect, expected[c.id])])
        for c in pack.clues]
    for dx in pack.diagnoses:
        supporting, opposing = evidence[dx].outcomes()
        fired = [(c.id, e) for c in pack.clues for e in c.effects if e.diagnosis == dx
                 and expected[c.id] is not None and fires(e.effect, expected[c.id])]
        assert [o.clue_id for o in supporting] == [c for c, e in fired if e.effect is EffectKind.SUPPORTS]
        assert [o.clue_id for o in opposing if o.effect is not EffectKind.AGE] == [
            c for c, e in fired if e.effect is not EffectKind.SUPPORTS]
        assert evidence[dx].supported == bool(supporting)
        unknown = [(c.id, e.weight) for c in pack.clues for e in c.effects if e.diagnosis == dx
                   and expected[c.id] is None and e.effect in (EffectKind.SUPPORTS, EffectKind.REQUIRED)]
        # strongest first, then in the pack's order
        assert [(o.clue_id, o.weight) for o in not_stated(pack, dx, truths)] == sorted(unknown, key=lambda u: -u[1])


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.stem)
def test_bundled_reports_visit_what_running_every_clue_would_find(catalog: Catalog, path: Any) -> None:
    for pack, report in _reports(catalog, json.loads(path.read_text(encoding="utf-8"))):
        _every_clue_run(pack, report)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("which", ["catalog", "mini"])
def test_drawn_reports_visit_what_running_every_clue_would_find(which: str, request: pytest.FixtureRequest,
                                                                data: st.DataObject) -> None:
    catalog: Catalog = request.getfixturevalue(which)
    doc = data.draw(findings_documents(catalog), label="document")
    for pack, report in _reports(catalog, doc):
        _every_clue_run(pack, report)
