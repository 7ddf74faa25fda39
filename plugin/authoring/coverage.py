"""`ddx pack coverage DIR`: what in each pack no sample report ever uses or fires.

Used = some sample that passes validation states it (a finding or history concept, an attribute value, a body
site, a lab test), whatever the pack's scope. Fired / suggested / shown = in a sample inside the pack's scope.
"""

from __future__ import annotations

import textwrap
from collections.abc import Collection
from typing import Any

from plugin.authoring.analysis import fired, sections
from plugin.harness import Summary
from plugin.knowledge.catalog import Catalog

CATEGORIES = {
    "concepts": "vocabulary concepts no sample uses",
    "attribute_values": "attribute values no sample uses",
    "body_sites": "body sites no sample uses",
    "labs": "lab tests no sample uses",
    "clues_never_fired": "clues that never fire",
    "clues_never_stated": "of which no sample states either way",
    "next_steps_never_suggested": "next steps never suggested",
    "cautions_never_shown": "cautions never shown",
    "diagnoses_never_expected": "diagnoses no sample expects",
    "diagnoses_never_shown": "diagnoses never in a differential",
}


def coverage(summary: Summary, catalog: Catalog) -> dict[str, Any]:
    reports = [r.result.report for r in summary.results if r.result is not None]
    concepts = {f.concept for rep in reports for f in rep.facts}
    values = {(name, v) for rep in reports for f in rep.facts for name, vs in f.attributes.items() for v in vs}
    sites = {f.site for rep in reports for f in rep.facts}
    labs = {lab.test for rep in reports for lab in rep.labs}
    expected = {r.case.expected_top for r in summary.results}
    packs = []
    for pack in catalog.packs:
        voc = pack.raw["vocabulary"]
        hit = [(r, s) for r, p, s in sections(summary, catalog) if p is pack]
        fired_ids = {c.id for _, s in hit for c in pack.clues if fired(c, s.clue_truths.get(c.id))}
        stated_ids = {cid for _, s in hit for cid, truth in s.clue_truths.items() if truth is not None}
        shown = [c for _, s in hit for c in s.candidates]
        suggested = {c.next_step.discriminator_id for c in shown if c.next_step}
        suggested |= {q.discriminator_id for _, s in hit for q in s.questions}  # the footer's questions count too
        cautioned = {k.id for c in shown for k in c.cautions} | {k.id for _, s in hit for k in s.overriding}
        totals = {
            "concepts": [c["id"] for c in voc["concepts"]],
            "attribute_values": [f"{a['id']}={v['id']}" for a in voc["attributes"] for v in a["values"]],
            "body_sites": [s["id"] for s in voc["body_sites"]],
            "labs": [x["id"] for x in voc["labs"]],
            "clues_never_fired": [c.id for c in pack.clues],
            "clues_never_stated": [c.id for c in pack.clues if c.id not in fired_ids],
            "next_steps_never_suggested": [d.id for d in pack.discriminators],
            "cautions_never_shown": [c.id for c in pack.cautions],
            "diagnoses_never_expected": list(pack.diagnoses),
            "diagnoses_never_shown": list(pack.diagnoses),
        }
        used: dict[str, Collection[str | None]] = {
            "concepts": concepts, "attribute_values": {f"{a}={v}" for a, v in values}, "body_sites": sites, "labs": labs,
            "clues_never_fired": fired_ids, "clues_never_stated": stated_ids, "next_steps_never_suggested": suggested,
            "cautions_never_shown": cautioned, "diagnoses_never_expected": expected,
            "diagnoses_never_shown": {c.diagnosis_id for c in shown},
        }
        packs.append({
            "pack": pack.id, "version": pack.version, "samples": len(reports), "samples_in_scope": len(hit),
            "unused": {k: [x for x in every if x not in used[k]] for k, every in totals.items()},
            "of": {k: len(every) for k, every in totals.items()},
        })
    return {"packs": packs}


def as_text(report: dict[str, Any], width: int = 110) -> list[str]:
    lines = []
    for p in report["packs"]:
        lines.append(f"== {p['pack']} {p['version']}: {p['samples']} samples read, {p['samples_in_scope']} in its scope")
        for key, title in CATEGORIES.items():
            missing, of = p["unused"][key], p["of"][key]
            indent = "      " if key == "clues_never_stated" else "  "
            head = f"{indent}{title}: {len(missing)} of {of}" + (":" if missing else "")
            lines.append(head)
            if missing:
                lines += textwrap.wrap(", ".join(missing), width, initial_indent=indent + "  ", subsequent_indent=indent + "  ",
                                       break_on_hyphens=False)
    return lines
