"""The Result as the radiologist reads it in 30 seconds: a header (data and scope checks, the one overriding safety
caution), one line per diagnosis (likelihood, at most two findings for it, the key finding against it, its own next
step), then at most two questions whose answers would most change the ranking, and short sources.

The same form feeds the XHTML narrative, DiagnosticReport.conclusion and the RiskAssessment rationale. No FHIR types
here; every piece of text is escaped for XHTML.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from html import escape

from plugin.model import Candidate, ClueOutcome, EffectKind, Likelihood, PackResult, Result

LABEL = "Decision support, not a diagnosis"
FOR_SHOWN = 2  # findings for a diagnosis on its line


def name(c: Candidate) -> str:
    """The entry's name: a variant is named with its disease, so five places show five different ideas."""
    shown = f"{c.family}: {c.display}" if c.family and not c.display.startswith(c.family) else c.display
    return f"outside this pack, consider {shown}" if c.outside_pack else shown


def _statement(o: ClueOutcome) -> str:
    return o.statement.rstrip(".")


def key_against(c: Candidate) -> ClueOutcome | None:
    """The finding that weighs most against it (an age outside the usual range only when nothing stated does)."""
    stated = [o for o in c.opposing if o.effect is not EffectKind.AGE]
    ranked = stated or list(c.opposing)
    return ranked[0] if ranked else None


def shown_for(c: Candidate) -> list[ClueOutcome]:
    """At most two findings for it, the specific ones: a finding many diseases share is noise on its line."""
    return [o for o in c.supporting if o.specific][:FOR_SHOWN]


def parts(c: Candidate) -> list[tuple[str, str]]:
    """(heading, text) of one diagnosis's line, in reading order."""
    shown = shown_for(c)
    note = c.label_note or ("" if shown else "no specific finding for it")  # why it is listed at all, said plainly
    out = [("", f"{name(c)} ({c.likelihood_display.lower()}" + (f"; {note}" if note else "") + ")")]
    if shown:
        out.append(("For", "; ".join(_statement(o) for o in shown)))
    against = key_against(c)
    if against:
        out.append(("Against", _statement(against)))
    if c.next_step and c.likelihood is not Likelihood.NEGLIGIBLE:  # no work-up suggested for what is barely possible
        out.append(("Next", action(c.next_step.statement)))
    out += [("Caution", first_sentence(caution.statement)) for caution in c.cautions]
    return out


def action(step: str) -> str:
    """A step's action on the diagnosis's line: the pack writes 'action - what it shows'; the why is in the footer's
    questions and in `ddx explain`."""
    return step.split(" - ")[0].rstrip(".")


def first_sentence(text: str) -> str:
    """A caution's instruction on the diagnosis's line: its first sentence (the pack puts the instruction first)."""
    return text.split(". ")[0].rstrip(".")


def rationale(c: Candidate, its_parts: list[tuple[str, str]] | None = None) -> str:
    """One diagnosis's line as plain text, for RiskAssessment.prediction.rationale and Condition.note (its parts when
    the caller has them already: one Bundle writes each line twice, as text and as XHTML)."""
    return " ".join(f"{h}: {t}." if h else f"{t}." for h, t in (its_parts or parts(c))[1:]) or "No finding stated for it."


def headline(section: PackResult) -> list[str]:
    return list(section.header) + [c.headline or c.statement for c in section.overriding]


def conclusion(result: Result) -> str:
    """One line per diagnosis (<= 600 characters for five entries), after the header lines."""
    if not result.in_scope:
        return f"{LABEL}: no differential. " + " ".join(p.scope_reason for p in result.packs)
    lines = [f"{LABEL}."] + [h for p in result.in_scope for h in headline(p)]
    ranked = [f"{c.rank}. {name(c)} ({c.likelihood_display.lower()})" for c in result.candidates]
    if not ranked:
        return " ".join(lines + ["No diagnosis of the pack is supported by the stated findings."])
    return "\n".join(lines + ranked)


def _line(c: Candidate, its_parts: list[tuple[str, str]] | None) -> str:
    (_, head), *rest = its_parts or parts(c)
    body = "".join(f" <b>{escape(h)}:</b> {escape(t)}." for h, t in rest)
    return f"<li><b>{escape(head)}</b>.{body}</li>"


@lru_cache(maxsize=1024)  # the packs' own source strings: a pure function of a bounded set
def short(source: str) -> str:
    """'brief §2 [S8,S10] (zoning)' -> 'brief §2': a short reference; the pack's sources give the full citation."""
    return source.split(" [")[0].split(" (")[0].split(",")[0].strip()


def _sources(section: PackResult) -> str:
    shown = [o for c in section.candidates for o in shown_for(c)]
    shown += [a for c in section.candidates if (a := key_against(c))]
    return "; ".join(sorted({short(s) for o in shown for s in o.sources}))


def xhtml(result: Result, known: Mapping[int, list[tuple[str, str]]] | None = None) -> str:
    """The whole form as XHTML; `known`: the parts of candidates already built for this result, by id()."""
    known = known or {}
    body = [f"<p><b>{LABEL}.</b></p>"]
    for section in result.packs:
        if not section.in_scope:
            body.append(f"<p>{escape(section.scope_reason)} No differential is given.</p>")
            continue
        for line in section.header:
            body.append(f"<p>{escape(line)}</p>")
        for caution in section.overriding:
            body.append(f"<p><b>Caution:</b> {escape(caution.statement)}</p>")  # the conclusion carries the headline
        if section.candidates:
            body.append("<p>Differential:</p>")
            body.append("<ol>" + "".join(_line(c, known.get(id(c))) for c in section.candidates) + "</ol>")
        else:
            body.append("<p>No diagnosis of this pack is supported by the stated findings.</p>")
        if section.questions:
            lis = "".join(f"<li>{escape(q.statement)}</li>" for q in section.questions)
            body.append(f"<p><b>What would change the ranking most:</b></p><ul>{lis}</ul>")
        if section.candidates:
            body.append(f"<p>Sources ({escape(section.pack_id)} {escape(section.pack_version)}): {escape(_sources(section))}.</p>")
    if result.report.warnings:
        lis = "".join(f"<li>{escape(w.path or '')}: {escape(w.message)}</li>" for w in result.report.warnings)
        body.append(f"<p><b>Not evaluated:</b></p><ul>{lis}</ul>")
    if not result.in_scope:
        body.append("<p><i>" + escape("; ".join(f"knowledge pack {p.pack_id} {p.pack_version}" for p in result.packs)) + ".</i></p>")
    return '<div xmlns="http://www.w3.org/1999/xhtml">' + "".join(body) + "</div>"
