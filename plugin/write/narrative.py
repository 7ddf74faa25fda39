"""Stage 5a: the Result as text a radiologist reads at a glance: a one-line conclusion and an XHTML narrative.

No FHIR types here; every piece of text is escaped.
"""

from __future__ import annotations

from html import escape

from plugin.model import Candidate, ClueOutcome, Result

LABEL = "Decision support, not a diagnosis"


def conclusion(result: Result) -> str:
    if not result.in_scope:
        return f"{LABEL}: no differential. " + " ".join(p.scope_reason for p in result.packs)
    ranked = "; ".join(f"{c.rank}. {'outside this pack, consider ' if c.outside_pack else ''}{c.display} ({c.likelihood_display.lower()})"
                       for c in result.candidates)
    if not ranked:
        return f"{LABEL}: no diagnosis of the pack is supported by the stated findings."
    return f"{LABEL}. Ranked differential: {ranked}."


SHOWN = 6  # clues listed per heading; the rest are counted ("and N more")


def _clues(title: str, items: tuple[ClueOutcome, ...], limit: int = SHOWN) -> str:
    if not items:
        return ""
    lis = "".join(f"<li>{escape(o.statement)}</li>" for o in items[:limit])
    more = f"<li>and {len(items) - limit} more</li>" if len(items) > limit else ""
    return f"<p><b>{escape(title)}</b></p><ul>{lis}{more}</ul>"


def _candidate(c: Candidate) -> str:
    head = f"<b>{escape(c.display)}</b> ({escape(c.likelihood_display)}; {escape(c.group_display)})"
    if c.outside_pack:
        head = f"Outside this pack, consider: {head}"
    parts = [head, _clues("For:", c.supporting), _clues("Against:", c.opposing), _clues("Not stated:", c.not_stated, 4)]
    if c.next_step:
        parts.append(f"<p><b>Next step:</b> {escape(c.next_step.statement)}</p>")
    for caution in c.cautions:
        parts.append(f"<p><b>Caution:</b> {escape(caution.statement)}</p>")
    shown = c.supporting[:SHOWN] + c.opposing[:SHOWN]
    sources = sorted(set(c.sources) | {s for o in shown for s in o.sources})
    parts.append(f"<p>Sources: {escape('; '.join(sources))}</p>")
    return "<li>" + "".join(parts) + "</li>"


def xhtml(result: Result) -> str:
    body = [f"<p><b>{LABEL}.</b></p>"]
    for pack in result.packs:
        if not pack.in_scope:
            body.append(f"<p>{escape(pack.scope_reason)} No differential is given.</p>")
            continue
        body.append(f"<p>Differential for {escape(pack.pack_title)}:</p>")
        if pack.candidates:
            body.append("<ol>" + "".join(_candidate(c) for c in pack.candidates) + "</ol>")
        else:
            body.append("<p>No diagnosis of this pack is supported by the stated findings.</p>")
    if result.report.warnings:
        lis = "".join(f"<li>{escape(w.path or '')}: {escape(w.message)}</li>" for w in result.report.warnings)
        body.append(f"<p><b>Not evaluated:</b></p><ul>{lis}</ul>")
    footer = "; ".join(f"{p.pack_title}, knowledge pack {p.pack_id} {p.pack_version}. Intended use: {p.intended_use}"
                       for p in result.packs)
    body.append(f"<p><i>{escape(footer)}</i></p>")
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + "".join(body) + "</div>"


def _joined(items: tuple[ClueOutcome, ...]) -> str:
    return "; ".join(o.statement.rstrip(".") for o in items)


def rationale(c: Candidate) -> str:
    """One paragraph for RiskAssessment.prediction.rationale and Condition.note."""
    parts = [f"For: {_joined(c.supporting) or 'none stated'}."]
    if c.opposing:
        parts.append(f"Against: {_joined(c.opposing)}.")
    if c.not_stated:
        parts.append(f"Not stated: {_joined(c.not_stated[:4])}.")
    if c.next_step:
        parts.append(f"Next step: {c.next_step.statement.rstrip('.')}.")
    for caution in c.cautions:
        parts.append(f"Caution: {caution.statement}")
    return " ".join(parts)
