"""`ddx harness DIR --html FILE`: the author's report, one self-contained HTML file.

No script, no web font, nothing fetched: the charts are SVG documents inside `data:` URLs, the style is inline,
and a Content-Security-Policy forbids loading anything else, so the file opens the same anywhere, offline.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

import matplotlib

from plugin.authoring import analysis, charts
from plugin.authoring.compare import FIGURES, NOT_SHOWN, figure_text
from plugin.authoring.coverage import CATEGORIES, coverage
from plugin.harness import Summary
from plugin.knowledge.catalog import Catalog

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:0 18px 40px;color:#1b1f23}
h1{margin:18px 0 4px}h2{margin-top:34px;border-bottom:2px solid #dfe3e8;padding-bottom:4px}
nav a{margin-right:12px}table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #dfe3e8;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f3f5f7}
td.n{text-align:right;font-variant-numeric:tabular-nums}figure{margin:14px 0}figure img{max-width:100%;height:auto}
figcaption{color:#57606a;font-size:13px;max-width:900px}.figures span{display:inline-block;margin-right:18px}
.bad{color:#c0392b;font-weight:600}.good{color:#2e8b57;font-weight:600}.muted{color:#57606a}code{font-size:12px}
"""


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f'<td class="n">{value:.1%}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{value}</td>'
    return f"<td>{escape('' if value is None else str(value))}</td>"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    if not rows:
        return '<p class="muted">None.</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(name: str, svg: str, alt: str, caption: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<figure class="chart" data-chart="{escape(name)}"><img src="data:image/svg+xml;base64,{data}" alt="{escape(alt)}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _rank(rank: int | None) -> str:
    return str(rank) if rank is not None else "not shown"


def _moved(diff: dict[str, Any], baseline: str) -> str:
    out = [f'<section id="moved"><h2>What moved since {escape(baseline)}</h2>']
    out.append(_table(["figure", "before", "now"], [[FIGURES[f["figure"]], figure_text(f["figure"], f["before"]), figure_text(f["figure"], f["now"])]
                                                    for f in diff["figures"]]))
    if not diff["moved"]:
        out.append('<p class="good">Nothing moved: every sample ranks and labels its diagnoses as before.</p>')
    for title, key in (("Expected diagnosis rose", "rose"), ("Expected diagnosis fell", "fell"),
                       ("New misses", "new_misses"), ("New hits", "new_hits")):
        if diff[key]:
            out.append(f"<h3>{title} ({len(diff[key])})</h3>")
            out.append(_table(["sample", "expected", "rank before", "rank now"],
                              [[r["report"], r["expected"] or "(out of scope)", _rank(r["rank_before"]), _rank(r["rank_now"])]
                               for r in diff[key]]))
    if diff["likelihood_changes"]:
        out.append(f"<h3>Likelihood labels changed ({len(diff['likelihood_changes'])})</h3>")
        out.append(_table(["sample", "diagnosis", "expected one?", "before", "now"],
                          [[c["report"], c["diagnosis"], "yes" if c["expected"] else "", c["before"], c["now"]]
                           for c in diff["likelihood_changes"]]))
    for title, key in (("Samples added", "added_reports"), ("Samples removed", "removed_reports")):
        if diff[key]:
            out.append(f"<p>{title}: {escape(', '.join(diff[key]))}</p>")
    out.append("</section>")
    return "".join(out)


def _confusion(summary: Summary, catalog: Catalog) -> str:
    groups = analysis.confusion(summary, catalog, "group")
    diagnoses = analysis.confusion(summary, catalog, "diagnosis")
    missed = [[r.case.name, r.case.expected_top, r.top[0] if r.top else analysis.NO_DIFFERENTIAL, _rank(r.rank_of_expected)]
              for r in summary.in_scope if not r.top or r.top[0] != r.case.expected_top]
    return "".join([
        '<section id="confusion"><h2>Where the pack confuses one group with another</h2>',
        _figure("confusion-groups", charts.heat_map(groups, "Confusion by diagnosis group", "group"),
                "Heat map: expected diagnosis group (rows) against the group ranked first (columns)",
                "Each row is the group of the samples' expected diagnosis, each column the group of the diagnosis the pack "
                "ranked first; the colour is the share of the row's samples, the number how many samples. Everything off the "
                "diagonal (numbers in red) is a confusion."),
        _table(["expected group", "group ranked first", "samples"], [list(c) for c in groups.off_diagonal()]),
        _figure("confusion-diagnoses", charts.heat_map(diagnoses, "Confusion by diagnosis", "diagnosis"),
                "Heat map: expected diagnosis (rows) against the diagnosis ranked first (columns)",
                "The same, one row per expected diagnosis; only diagnoses that were expected or ranked first are drawn."),
        "<h3>Samples whose expected diagnosis was not ranked first</h3>",
        _table(["sample", "expected", "ranked first", "rank of expected"], missed),
        "</section>",
    ])


def _groups(summary: Summary, catalog: Catalog) -> str:
    figures = analysis.group_figures(summary)
    display = {g: d for p in catalog.packs for g, d in p.groups.items()}
    rows = [[g["group"], display.get(g["group"], ""), g["reports"], g["top1"], g["top3"], f"{g['mrr']:.2f}", g["top3_acceptable"]]
            for g in figures]
    return "".join([
        '<section id="groups"><h2>Top-1 and top-3 per group</h2>',
        _figure("groups", charts.group_bars(figures), "Bar chart: top-1 and top-3 per diagnosis group",
                "Share of each group's samples whose expected diagnosis the pack ranked first (dark) or in its top 3 (light)."),
        _table(["group", "name", "samples", "top-1", "top-3", "MRR", "top-3 entries acceptable"], rows),
        "</section>",
    ])


def _calibration(bands: list[dict[str, Any]], several: bool) -> str:
    def stated(b: dict[str, Any]) -> str:
        return f"{b['stated'][0]:.0%}–{b['stated'][1]:.0%}" if b["stated"] else "not stated"

    rows = [[(f"{b['pack']}: " if several else "") + b["display"], f"≥ {b['min_score']:g}", stated(b), b["shown"], b["expected"],
             b["observed"], f"{b['interval95'][0]:.0%}–{b['interval95'][1]:.0%}" if b["interval95"] else "-", b["verdict"]]
            for b in bands]
    return "".join([
        '<section id="calibration"><h2>Do the likelihood bands mean what they say?</h2>',
        _figure("calibration", charts.calibration(bands, several), "Chart: stated probability range of each likelihood band "
                "against the observed share, with its 95% interval",
                "For every diagnosis shown in a sample's differential with a band: was it the sample's expected diagnosis? "
                "The shaded bar is the range the band states (pack.yaml, <code>stated_probability</code>); the dot is the observed "
                "share, with its 95% Wilson interval and the count."),
        _table(["band", "score", "stated", "shown", "was expected", "observed", "95% interval", "verdict"], rows),
        "</section>",
    ])


def _clues(stats: list[analysis.ClueStat], several: bool) -> str:
    rows = [[(f"{s.pack}: " if several else "") + s.clue, s.statement, s.known, s.fired, s.decided, s.helped, s.hurt,
             "; ".join([f"helped {n}" for n in s.helped_in] + [f"hurt {n}" for n in s.hurt_in])] for s in stats]
    return "".join([
        '<section id="clues"><h2>What each clue did</h2>',
        _figure("clues", charts.clue_bars(stats, several), "Bar chart: samples each clue fired in and samples it decided",
                "Grey: samples in which the clue fired (one of its effects applied). Coloured: samples it decided, i.e. taking the "
                "clue out of the pack changes the diagnosis ranked first; green when it put the expected diagnosis first, red when "
                "it took it away from first place, orange when neither was the expected one. Clues that never fired are listed "
                "under coverage."),
        _table(["clue", "statement", "stated in", "fired in", "decided", "helped", "hurt", "samples helped / hurt"], rows),
        "</section>",
    ])


def _coverage(summary: Summary, catalog: Catalog) -> str:
    out = ['<section id="coverage"><h2>What the samples never exercise</h2>']
    for p in coverage(summary, catalog)["packs"]:
        out.append(f"<h3>{escape(p['pack'])} {escape(p['version'])}: {p['samples']} samples read, "
                   f"{p['samples_in_scope']} in its scope</h3><ul>")
        for key, title in CATEGORIES.items():
            missing = p["unused"][key]
            listed = ": " + ", ".join(f"<code>{escape(x)}</code>" for x in missing) if missing else ""
            out.append(f"<li><b>{escape(title)}</b>: {len(missing)} of {p['of'][key]}{listed}</li>")
        out.append("</ul>")
    out.append("</section>")
    return "".join(out)


def render(summary: Summary, catalog: Catalog, folder: str, diff: dict[str, Any] | None = None, baseline: str = "") -> str:
    """The whole report as one HTML document."""
    data = summary.as_json()
    s = data["summary"]
    several = len(catalog.packs) > 1
    packs = ", ".join(f"{p.title} ({p.id} {p.version})" for p in catalog.packs)
    verdict = '<span class="good">passed</span>' if s["passed"] else '<span class="bad">FAILED</span>'
    failing = [[m["report"], m["expected_top"] or "(out of scope)", ", ".join(m["got"]) or "no differential", _rank(m["rank_of_expected"]),
                m.get("error", "")] for m in data["mismatches"] if m["fails_harness"]]
    sections = [
        _moved(diff, baseline) if diff is not None else "",
        _confusion(summary, catalog),
        _groups(summary, catalog),
        _calibration(analysis.calibration(summary, catalog), several),
        _clues(analysis.clue_stats(summary, catalog), several),
        _coverage(summary, catalog),
        '<section id="failures"><h2>Samples that fail the harness</h2>',
        _table(["sample", "expected", "top 3", "rank of expected", "error"], failing), "</section>",
    ]
    links = ([("moved", "What moved")] if diff is not None else []) + [
        ("confusion", "Confusion"), ("groups", "Per group"), ("calibration", "Likelihood bands"), ("clues", "Clues"),
        ("coverage", "Coverage"), ("failures", "Failures")]
    return "".join([
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rad-ddx harness report: {escape(folder)}</title><style>{STYLE}</style></head><body>",
        f"<h1>Harness report: {escape(folder)}</h1><p>{escape(packs)}. Harness {verdict}.</p>",
        '<p class="figures">' + "".join(f"<span>{k} <b>{v}</b></span>" for k, v in (
            ("samples", s["reports"]), ("top-1", f"{s['top1']:.1%}"), ("top-3", f"{s['top3']:.1%}"), ("MRR", f"{s['mrr']:.3f}"),
            ("top-3 entries acceptable", f"{s['top3_acceptable']:.0%}"),
            ("out of scope clean", "yes" if s["out_of_scope_clean"] else "NO"))) + "</p>",
        "<nav>" + "".join(f'<a href="#{a}">{escape(t)}</a>' for a, t in links) + "</nav>",
        *sections,
        f'<footer class="muted"><p>Made by <code>ddx harness</code>; charts drawn with matplotlib {matplotlib.__version__} as '
        f"static SVG. No script; nothing is fetched. A label “{NOT_SHOWN}” means the diagnosis was not in the differential.</p>"
        "</footer></body></html>\n",
    ])


def write(path: Path, summary: Summary, catalog: Catalog, folder: str, diff: dict[str, Any] | None = None, baseline: str = "") -> None:
    path.write_text(render(summary, catalog, folder, diff, baseline), encoding="utf-8")
