"""The ddx command line: harness, evaluate, validate, explain, serve, pack check."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from plugin import harness as harness_mod
from plugin import pipeline, service, validate
from plugin.errors import InputInvalid, PackInvalid
from plugin.fhir import operation_outcome
from plugin.settings import get_settings


def _catalog(mappings: Path | None = None) -> Any:
    settings = get_settings()
    try:
        return service.load_knowledge(mappings or settings.mappings_dir, settings.schemas_dir)
    except PackInvalid as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


def _read(file: Path) -> Any:
    try:
        return validate.parse_strict(file.read_bytes())
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
def harness(folder: Path, fmt: str) -> None:
    """Run every sample report in FOLDER against its expected differential; exit 1 on any miss."""
    catalog = _catalog()
    summary = harness_mod.run(folder, catalog, get_settings().max_differential)
    data = summary.as_json()
    if fmt == "json":
        click.echo(json.dumps(data, indent=2))
    else:
        for r in summary.results:
            shown = ", ".join(f"{d} ({label.lower()})" for d, label in r.ranked[:3]) or "no differential"
            mark = "ok  " if r.ok else "MISS"
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
                   f"top-3 entries acceptable {s['top3_acceptable']:.0%}  out-of-scope clean: {'yes' if s['out_of_scope_clean'] else 'NO'}")
    sys.exit(0 if data["summary"]["passed"] else 1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--shape", type=click.Choice(["bundle", "contained"]), default="bundle", show_default=True)
def evaluate(file: Path, shape: str) -> None:
    """Write the FHIR R4 Bundle (or contained DiagnosticReport) for one findings document to stdout."""
    catalog = _catalog()
    document = _read(file)
    try:
        out = service.evaluate(document, catalog, shape, max_items=get_settings().max_differential)  # type: ignore[arg-type]
    except InputInvalid as exc:
        click.echo(json.dumps(operation_outcome(exc.issues), indent=2))
        click.echo(f"{file}: {len(exc.issues)} problem(s)", err=True)
        sys.exit(1)
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@main.command(name="validate")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def validate_cmd(file: Path) -> None:
    """Print each problem of one findings document with its location; exit 1 when invalid."""
    catalog = _catalog()
    issues = validate.check(_read(file), catalog)
    for issue in issues:
        click.echo(f"{issue.path or '(document)'}: [{issue.code}] {issue.message}")
    if issues:
        sys.exit(1)
    click.echo(f"{file}: valid")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def explain(file: Path) -> None:
    """Print every clue evaluated (true / false / unknown), what it did, and why each next step was chosen."""
    catalog = _catalog()
    try:
        result = pipeline.run(_read(file), catalog, get_settings().max_differential)
    except InputInvalid as exc:
        for issue in exc.issues:
            click.echo(f"{issue.path or '(document)'}: {issue.message}", err=True)
        sys.exit(1)
    for w in result.report.warnings:
        click.echo(f"warning: {w.path}: {w.message}")
    for section, pack in zip(result.packs, catalog.packs, strict=True):
        click.echo(f"== {pack.title} ({pack.id} {pack.version})")
        if not section.in_scope:
            click.echo(section.scope_reason)
            continue
        names = {True: "TRUE   ", False: "false  ", None: "unknown"}
        for clue in pack.clues:
            truth = section.clue_truths[clue.id]
            click.echo(f"  {names[truth]} {clue.id}: {clue.statement}")
            if truth is not None:
                for e in clue.effects:
                    fired = (e.effect in ("supports", "opposes", "excludes") and truth) or (e.effect == "required" and not truth)
                    if fired:
                        sign = {"supports": "+", "opposes": "-"}.get(e.effect, "")
                        amount = f"{sign}{e.weight:g}" if sign else e.effect.upper()
                        click.echo(f"            {amount:>6} {e.diagnosis}: {e.reason}")
        click.echo("  scores: " + ", ".join(f"{d} {s:g}" for d, s in sorted(section.trace["scores"].items(), key=lambda x: -x[1])))
        for d, why in section.excluded:
            click.echo(f"  excluded {d}: {why}")
        for c in section.candidates:
            click.echo(f"{c.rank}. {c.display} [{c.diagnosis_id}] score {c.score:g} ({c.likelihood_display})")
            if c.next_step:
                ns = c.next_step
                click.echo(f"   next step: {ns.statement} — unknown here; separates it best from {', '.join(ns.neighbours)} "
                           f"(separation {ns.separation:g})")
            for caution in c.cautions:
                click.echo(f"   caution: {caution.statement}")


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
    from plugin.pack_check import check_packs

    problems, report = check_packs(path)
    for line in report:
        click.echo(line)
    for p in problems:
        click.echo(f"ERROR {p}", err=True)
    sys.exit(1 if problems else 0)


@pack.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Folder (default mappings/fhir).")
def publish(out: Path | None) -> None:
    """Write each pack's checked ICD-10-CM leaf table, then the CodeSystems and extension StructureDefinitions (FHIR R4 JSON)."""
    from plugin.publish import OUT_DIR, write, write_icd10cm_tables

    for path in write_icd10cm_tables(get_settings().mappings_dir) + write(_catalog(), out or OUT_DIR):
        click.echo(str(path))
