"""The ddx command line: harness (with --save / --compare / --html), evaluate, validate, explain, serve, pack check / coverage."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from plugin import engine, read
from plugin import harness as harness_mod
from plugin.errors import InputInvalid, PackInvalid
from plugin.model import EffectKind
from plugin.read.fhir_convert import to_fhir_input
from plugin.settings import get_settings
from plugin.write import DEFAULT_SHAPE, WRITERS
from plugin.write.outcome import operation_outcome


def _catalog(mappings: Path | None = None) -> Any:
    settings = get_settings()
    try:
        return engine.load_knowledge(mappings or settings.mappings_dir, settings.schemas_dir)
    except PackInvalid as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _read(file: Path) -> Any:
    try:
        return read.READERS[read.DEFAULT_FORM].parse(file.read_bytes())
    except InputInvalid as exc:
        for issue in exc.issues:
            click.echo(f"{file}: {issue.message}", err=True)
        sys.exit(1)


@click.group()
def main() -> None:
    """rad-ddx: coded findings in, explained differential diagnosis out (FHIR R4)."""


@main.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), help="Keep this run as JSON, for a later --compare.")
@click.option("--compare", "compare_with", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Show what moved since the run kept in this file (--save).")
@click.option("--calibration", is_flag=True, help="Print the likelihood bands' calibration and the Brier score (use on held-out reports).")
@click.option("--html", "html_to", type=click.Path(dir_okay=False, path_type=Path), help="Write the author's report: one self-contained HTML file.")
@click.option("--record-improved", is_flag=True,
              help="Write each improved rank into its expected file's expected_rank (never a worse one). Not for held-out reports.")
def harness(folder: Path, fmt: str, calibration: bool, save_to: Path | None, compare_with: Path | None,
            html_to: Path | None, record_improved: bool) -> None:
    """Run every sample report in FOLDER against its expected differential; exit 1 on an error, an out-of-scope report given
    a differential, a sample ranking its expected diagnosis worse than its reviewed expected_rank, or (no expected_rank)
    outside the top 3."""
    from plugin.authoring import compare

    try:
        baseline = compare.load(compare_with) if compare_with else None
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    catalog = _catalog()
    summary = harness_mod.run(folder, catalog, get_settings().max_differential)
    data = summary.as_json()
    if calibration:
        from plugin.authoring.posterior import report

        data["calibration"] = report(summary, catalog)
    run = compare.snapshot(summary, catalog)
    diff = compare.compare(baseline, run) if baseline else None
    if diff is not None:
        data["compare"] = diff
    if save_to:
        compare.save(save_to, run)
    if record_improved:
        for line in harness_mod.record_improved(folder, summary.results):
            click.echo(f"expected_rank recorded: {line}", err=True)
    if html_to:
        from plugin.authoring import report_html

        report_html.write(html_to, summary, catalog, folder.name or str(folder), diff, str(compare_with))
        click.echo(f"report written to {html_to}", err=True)
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        for r in summary.results:
            shown = ", ".join(f"{d} ({label.lower()})" for d, label in r.ranked[:3]) or "no differential"
            mark = "ok  " if r.ok else ("MISS" if r.fails else "miss")  # lower case: a known miss, reviewed as such
            exp = r.case.expected_top or "out of scope"
            click.echo(f"{mark} {r.case.name}: {shown}  [expected: {exp}]")
            if r.error:
                click.echo(f"     error: {r.error}")
        s = data["summary"]
        click.echo("")
        for g in data["groups"]:
            if g["group"] == harness_mod.OUT_OF_SCOPE:
                click.echo(f"  {g['group']:<26} reports {g['reports']:>3}  no differential given: {'all' if g['clean'] else 'NOT all'}")
            else:
                click.echo(f"  {g['group']:<26} reports {g['reports']:>3}  top-1 {g['top1']:.0%}  top-3 {g['top3']:.0%}  MRR {g['mrr']:.2f}")
        click.echo(f"\nreports {s['reports']}  top-1 {s['top1']:.1%}  top-3 {s['top3']:.1%}  MRR {s['mrr']:.3f}  "
                   f"top-3 entries acceptable {s['top3_acceptable']:.0%}  out-of-scope clean: {'yes' if s['out_of_scope_clean'] else 'NO'}  "
                   f"known misses {s['known_misses']}  {'PASSED' if s['passed'] else 'FAILED'}")
        if diff is not None:
            click.echo("\n" + "\n".join(compare.as_text(diff, str(compare_with))))
    if calibration and fmt != "json":
        cal = data["calibration"]
        click.echo("\nlikelihood band   stated        shown  expected  observed  95 % interval")
        for b in cal["bands"]:
            stated = f"{b['stated'][0]:.0%}-{b['stated'][1]:.0%}" if b["stated"] else "not stated"
            seen = f"{b['observed']:.0%}" if b["observed"] is not None else "-"
            ci = f"{b['interval95'][0]:.0%}-{b['interval95'][1]:.0%}" if b["interval95"] else "-"
            click.echo(f"  {b['display']:<15} {stated:<13} {b['shown']:>5} {b['expected']:>9}  {seen:>8}  {ci}")
        click.echo(f"Brier score over {cal['reports']} reports: {cal['brier']}; show probabilities: "
                   f"{'yes' if cal['show_probabilities'] else 'no'} ({cal['why']})")
    sys.exit(0 if data["summary"]["passed"] else 1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shape", type=click.Choice(list(WRITERS)), default=DEFAULT_SHAPE, show_default=True,
              help="; ".join(f"{w.name}: {w.description}" for w in WRITERS.values()))
def evaluate(file: Path, shape: str) -> None:
    """Write the FHIR R4 Bundle (or contained DiagnosticReport) for one findings document to stdout."""
    catalog = _catalog()
    document = _read(file)
    try:
        settings = get_settings()
        out = engine.evaluate(document, catalog, shape, max_items=settings.max_differential, endpoint=settings.public_url)
    except InputInvalid as exc:
        click.echo(json.dumps(operation_outcome(exc.issues), indent=2))
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(1)
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--to", "target", type=click.Choice(["fhir-input"]), required=True,
              help="fhir-input: the same report as a FHIR R4 collection Bundle (mappings/fhir/fhir-input-profile.md).")
def convert(file: Path, target: str) -> None:
    """Write one valid findings document in another input form to stdout."""
    catalog = _catalog()
    document = _read(file)
    issues = read.problems(document, catalog)
    if issues:
        click.echo(json.dumps(operation_outcome(issues), indent=2))
        click.echo(f"{file}: {len(issues)} problem(s)", err=True)
        sys.exit(1)
    click.echo(json.dumps(to_fhir_input(document, catalog.attribute_codings), indent=2, ensure_ascii=False))


@main.command(name="validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_cmd(file: Path) -> None:
    """Print each problem of one findings document with its location (and, when valid, each code no pack knows); exit 1 when invalid."""
    catalog = _catalog()
    document = _read(file)
    issues = engine.document_issues(document, catalog, read.form_of(document))
    for issue in issues:
        severity = "" if issue.severity == "error" else f"{issue.severity}: "
        click.echo(f"{issue.path or '(document)'}: [{issue.code}] {severity}{issue.message}")
    if any(i.severity == "error" for i in issues):
        sys.exit(1)
    click.echo(f"{file}: valid" + (f" ({len(issues)} warning(s))" if issues else ""))


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def explain(file: Path) -> None:
    """Print every clue evaluated (true / false / unknown), what it did, and why each next step was chosen."""
    catalog = _catalog()
    try:
        document = _read(file)
        result = engine.result_of(document, catalog, get_settings().max_differential, read.form_of(document))
    except InputInvalid as exc:
        for issue in exc.issues:
            click.echo(f"{issue.path or '(document)'}: {issue.message}", err=True)
        sys.exit(1)
    for w in result.report.warnings:
        click.echo(f"warning: {w.path}: {w.message}")
    for section in result.packs:
        click.echo(f"== {section.pack_title} ({section.pack_id} {section.pack_version})")
        if not section.in_scope:
            click.echo(section.scope_reason)
            continue
        names = {True: "TRUE   ", False: "false  ", None: "unknown"}
        for clue in section.clues:
            click.echo(f"  {names[clue.truth]} {clue.clue_id}: {clue.statement}")
            for e in clue.fired:
                sign = {EffectKind.SUPPORTS: "+", EffectKind.OPPOSES: "-"}.get(e.effect, "")
                amount = f"{sign}{e.weight:g}" if sign else e.effect.upper()
                click.echo(f"            {amount:>6} {e.diagnosis}: {e.reason}")
        click.echo("  scores: " + ", ".join(f"{d} {s:g}" for d, s in sorted(section.trace["scores"].items(), key=lambda x: -x[1])))
        for d, why in section.excluded:
            click.echo(f"  excluded {d}: {why}")
        for line in section.header:
            click.echo(f"  check: {line}")
        for caution in section.overriding:
            click.echo(f"  OVERRIDING caution: {caution.headline} {caution.statement}")
        for c in section.candidates:
            label = c.likelihood_display + (f", {c.label_note}" if c.label_note else "")
            click.echo(f"{c.rank}. {c.display} [{c.diagnosis_id}] score {c.score:g} ({label})")
            if c.next_step:
                click.echo(f"   next step (its own work-up, open here): {c.next_step.statement}")
            for caution in c.cautions:
                click.echo(f"   caution: {caution.statement}")
        for q in section.questions:
            click.echo(f"question: {q.statement} — unknown here; separates the leader best from {', '.join(q.neighbours)} "
                       f"(separation {q.separation:g})")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on (loopback by default).")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int)
def serve(host: str, port: int, workers: int) -> None:
    """Serve the HTTP API (FHIR R4 out) with uvicorn."""
    import uvicorn

    from plugin.api.timeouts import DeadlineHttpToolsProtocol

    _catalog()  # fail fast, with file/path/reason, before binding the port
    uvicorn.run("plugin.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_config=None, access_log=False, timeout_graceful_shutdown=20,
                http=DeadlineHttpToolsProtocol, timeout_keep_alive=get_settings().idle_timeout_seconds)


@main.group()
def pack() -> None:
    """Knowledge pack tools."""


@pack.command()
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
def check(path: Path | None) -> None:
    """Check a pack folder (or every pack under mappings/) without starting anything."""
    from plugin.knowledge.check import check_packs

    problems, report = check_packs(path)
    for line in report:
        click.echo(line)
    for p in problems:
        click.echo(f"ERROR {p}", err=True)
    sys.exit(1 if problems else 0)


@pack.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def coverage(folder: Path, fmt: str) -> None:
    """What no sample report in FOLDER ever uses or fires: concepts, attribute values, sites, labs, clues, next steps."""
    from plugin.authoring.coverage import as_text, coverage

    catalog = _catalog()
    report = coverage(harness_mod.run(folder, catalog, get_settings().max_differential), catalog)
    click.echo(json.dumps(report, indent=2) if fmt == "json" else "\n".join(as_text(report)))


@pack.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder (default mappings/fhir).")
def publish(out: Path | None) -> None:
    """Write each pack's checked ICD-10-CM leaf table, then the CodeSystems and extension StructureDefinitions (FHIR R4 JSON)."""
    from plugin.knowledge.icd10cm import write_icd10cm_tables
    from plugin.knowledge.publish import OUT_DIR, write

    for path in write_icd10cm_tables(get_settings().mappings_dir) + write(_catalog(), out or OUT_DIR):
        click.echo(str(path))


@main.group()
def feedback() -> None:
    """Radiologists' feedback on the CDS cards, read from the database DDX_DATABASE_URL names (no server needed)."""


@feedback.command(name="summary")
@click.option("--service", default=None, help="Only this CDS service (knowledge pack id); default: all.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def feedback_summary(service: str | None, fmt: str) -> None:
    """Accepted and overridden counts per diagnosis and per clue, with the override reasons."""
    from plugin.store import db
    from plugin.store.feedback import summary

    engine = db.open_database(get_settings().database_url)
    try:
        data = summary(engine, service)
    finally:
        engine.dispose()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    f = data["feedback"]
    click.echo(f"cards issued {data['cards']}  feedback: accepted {f['accepted']}  overridden {f['overridden']}")
    for title, key in (("per diagnosis", "diagnoses"), ("per clue", "clues")):
        click.echo(f"\n{title}:")
        for item in data[key]:
            name = f"{item['id']} ({item['display']})" if "display" in item else item["id"]
            click.echo(f"  {name}: accepted {item['accepted']}  overridden {item['overridden']}")
            for r in item["overrideReasons"]:
                click.echo(f"      override reason: {r['reason']} x{r['count']}")
