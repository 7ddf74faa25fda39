"""What the radiologist reads, over every sample: short, no step repeated or asking for what is stated, and every
finding shown for or against a diagnosis true for that report."""

from __future__ import annotations

import json
import re
import statistics
from typing import Any

import pytest

from plugin import engine
from plugin.knowledge.catalog import Catalog
from plugin.model import EffectKind, Result
from plugin.write import narrative
from tests.conftest import sample_paths


@pytest.fixture(scope="module")
def results(catalog: Catalog) -> list[tuple[str, Result, dict[str, Any]]]:
    out = []
    for path in sample_paths():
        document = json.loads(path.read_text(encoding="utf-8"))
        result = engine.result_of(document, catalog)
        out.append((path.name, result, engine.render(result)))
    return out


def words(div: str) -> int:
    return len(re.sub(r"<[^>]+>", " ", div).split())


def test_the_narrative_reads_in_30_seconds(results: list[tuple[str, Result, dict[str, Any]]]) -> None:
    counts = [words(bundle["entry"][0]["resource"]["text"]["div"]) for _, _, bundle in results]
    assert statistics.median(counts) <= 300, statistics.median(counts)
    assert max(counts) <= 450, max(counts)


def test_the_conclusion_is_one_line_per_diagnosis_and_short(results: list[tuple[str, Result, dict[str, Any]]]) -> None:
    for name, result, bundle in results:
        conclusion = bundle["entry"][0]["resource"]["conclusion"]
        assert len(conclusion) <= 600, name
        ranked = [line for line in conclusion.split("\n") if re.match(r"\d+\. ", line)]
        assert len(ranked) == len(result.candidates), name


def test_no_next_step_appears_under_two_diagnoses(results: list[tuple[str, Result, dict[str, Any]]]) -> None:
    for name, result, _ in results:
        steps = [c.next_step.discriminator_id for c in result.candidates if c.next_step]
        steps += [q.discriminator_id for p in result.in_scope for q in p.questions]
        assert len(steps) == len(set(steps)), (name, steps)


def test_no_step_asks_for_what_the_report_states(results: list[tuple[str, Result, dict[str, Any]]], catalog: Catalog) -> None:
    resolves = {d.id: d.resolves for p in catalog.packs for d in p.discriminators}
    for name, result, _ in results:
        for section in result.in_scope:
            asked = [c.next_step for c in section.candidates if c.next_step] + list(section.questions)
            for step in asked:
                stated = [clue for clue in resolves[step.discriminator_id] if section.clue_truths.get(clue) is not None]
                assert not stated, (name, step.discriminator_id, stated)


def test_every_finding_shown_for_or_against_is_true_for_that_report(results: list[tuple[str, Result, dict[str, Any]]]) -> None:
    checked = 0
    for name, result, _ in results:
        for section in result.in_scope:
            for c in section.candidates:
                shown = narrative.shown_for(c) + ([a] if (a := narrative.key_against(c)) else [])
                for o in shown:
                    if o.effect is EffectKind.AGE:
                        continue
                    truth = section.clue_truths[o.clue_id]
                    expected = False if o.effect is EffectKind.REQUIRED else True
                    assert truth is expected, (name, c.diagnosis_id, o.clue_id, truth)
                    checked += 1
    assert checked > 100


def test_variants_of_one_disease_take_one_place(results: list[tuple[str, Result, dict[str, Any]]], catalog: Catalog) -> None:
    families = {d: f for p in catalog.packs for d, (f, _) in p.form.families.items()}
    for name, result, _ in results:
        shown = [families.get(c.diagnosis_id, c.diagnosis_id) for c in result.candidates]
        assert len(shown) == len(set(shown)), (name, shown)
