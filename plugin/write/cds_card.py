"""Stage 3, write: one knowledge pack's part of a Result as a CDS Hooks 2.0 card (or none).

`card_markdown` is the radiologist's form as GitHub-flavoured markdown, one line per diagnosis and the footer's
questions; every piece of text that comes from the Result is markdown-escaped. `cds_card` wraps it in a card whose one
suggestion creates the DiagnosticReport in its contained form. Ids come from the Stamp, in a fixed order (card uuid,
suggestion uuid, then the report's resources), so a stamp derived from the hookInstance gives the same uuids twice.
"""

from __future__ import annotations

import re
from typing import Any

from plugin.model import Candidate, PackResult, Result
from plugin.write import Stamp, narrative
from plugin.write.fhir_r4 import build_contained

SUMMARY_MAX = 139  # CDS Hooks: a summary of fewer than 140 characters
SUGGESTION_LABEL = "Add the differential to the report"
OVERRIDE_SYSTEM = "https://rad-ddx.org/fhir/CodeSystem/cds-override-reason"
OVERRIDE_REASONS = (
    ("not-relevant", "The differential does not fit this patient"),
    ("diagnosis-missing", "The likely diagnosis is not listed"),
    ("ranking-wrong", "The order of the differential is wrong"),
    ("findings-misread", "The findings were not read as intended"),
    ("already-known", "The diagnosis is already established"),
)
_MD_INLINE = re.compile(r"([\\`*_\[\]<>|~&!#])")  # emphasis, code, links and images, HTML and entities, tables, strike
_MD_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+[.)])")  # a list, quote or setext heading when it opens a line


def md(text: str) -> str:
    """Text safe inside GitHub-flavoured markdown: every character that could open markup (inline, HTML, an entity, or a
    block when it starts the line) backslash-escaped; line breaks folded to spaces (one line stays one line)."""
    escaped = _MD_INLINE.sub(r"\\\1", " ".join(text.split()))
    return _MD_LINE_START.sub(lambda m: m.group(1) + "".join("\\" + ch if not ch.isdigit() else ch for ch in m.group(2)), escaped)


def _line(c: Candidate) -> str:
    """One diagnosis's line of the radiologist's form (narrative.parts), markdown-escaped."""
    _, *rest = narrative.parts(c)
    family = f"{md(c.family)}: " if c.family and not c.display.startswith(c.family) else ""
    outside = "outside this pack, consider " if c.outside_pack else ""
    note = f"; {md(c.label_note)}" if c.label_note else ""
    head = f"{c.rank}. {outside}{family}**{md(c.display)}** ({md(c.likelihood_display.lower())}{note})."
    return head + "".join(f" **{md(h)}:** {md(t)}." for h, t in rest)


def card_markdown(result: Result) -> str:
    """The radiologist's form (header, one line per diagnosis, the footer's questions, sources) as GitHub-flavoured
    markdown: the same parts as the XHTML narrative, every text escaped."""
    out = [f"**{md(narrative.LABEL)}.**", ""]
    for pack in result.packs:
        if not pack.in_scope:
            out += [md(pack.scope_reason) + " No differential is given.", ""]
            continue
        out += [md(line) for line in pack.header]
        out += [f"> **Caution:** {md(c.statement)}" for c in pack.overriding]
        out += [""] if pack.header or pack.overriding else []
        out += [_line(c) for c in pack.candidates] or ["No diagnosis of this pack is supported by the stated findings."]
        out.append("")
        if pack.questions:
            out += ["**What would change the ranking most:**", "", *[f"- {md(q.statement)}" for q in pack.questions], ""]
    if result.report.warnings:
        out += ["**Not evaluated:**", "", *[f"- {md(w.path or '')}: {md(w.message)}" for w in result.report.warnings], ""]
    out += ["---", "_" + md("; ".join(f"{p.pack_title}, knowledge pack {p.pack_id} {p.pack_version}" for p in result.packs)) + "_"]
    return "\n".join(out).strip() + "\n"


def card_summary(pack: PackResult) -> str:
    """'Differential: A > B > C' (as many as fit), always shorter than 140 characters."""
    names = [c.display for c in pack.candidates]
    if not names:
        return "No differential: no diagnosis of the pack is supported by the stated findings"
    summary = "Differential: " + names[0]
    for name in names[1:]:
        if len(summary) + 3 + len(name) > SUMMARY_MAX:
            break
        summary += " > " + name
    return summary if len(summary) <= SUMMARY_MAX else summary[: SUMMARY_MAX - 1] + "…"


def overriding(pack: PackResult) -> bool:
    """An overriding safety caution applies (e.g. possible FOP: no biopsy), on its own evidence: the pack marks it."""
    return bool(pack.overriding)


def cds_card(result: Result, pack_id: str, stamp: Stamp, docs_url: str) -> dict[str, Any] | None:
    """The card of one pack, or None when the report is out of its scope (no calcification: no card)."""
    pack = next((p for p in result.packs if p.pack_id == pack_id), None)
    if pack is None or not pack.in_scope:
        return None
    own = Result(result.report, (pack,))
    card_uuid, suggestion_uuid = stamp.new_id(), stamp.new_id()
    report = build_contained(own, stamp.new_id, stamp.now)
    return {
        "uuid": card_uuid,
        "summary": card_summary(pack),
        "indicator": "warning" if overriding(pack) else "info",
        "detail": card_markdown(own),
        "source": {"label": f"rad-ddx: {pack.pack_title} (knowledge pack {pack.pack_id} {pack.pack_version})"},
        "suggestions": [{
            "label": SUGGESTION_LABEL, "uuid": suggestion_uuid, "isRecommended": False,
            "actions": [{"type": "create", "description": "Create a preliminary DiagnosticReport holding the ranked differential, "
                                                          "its reasons and codes (everything contained).", "resource": report}],
        }],
        "selectionBehavior": "at-most-one",
        "overrideReasons": [{"system": OVERRIDE_SYSTEM, "code": code, "display": display} for code, display in OVERRIDE_REASONS],
        "links": [{"label": "rad-ddx API documentation", "url": docs_url, "type": "absolute"}],
    }
