"""`ddx harness DIR --save FILE` / `--compare FILE`: a run kept as JSON, and what moved between two runs.

Moved = a sample whose expected diagnosis rose or fell in the differential (old and new rank), a new miss or a
new hit (the harness verdict flipped), a diagnosis whose likelihood label changed, a sample added or removed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from plugin.harness import Summary
from plugin.knowledge.catalog import Catalog

FORMAT = "rad-ddx-harness-run/1"
FIGURES = {"top1": "top-1", "top3": "top-3", "mrr": "MRR", "top3_acceptable": "top-3 entries acceptable"}
NOT_SHOWN = "not shown"


def snapshot(summary: Summary, catalog: Catalog) -> dict[str, Any]:
    """One run as plain JSON: enough to say later what moved, nothing that changes between identical runs."""
    return {
        "format": FORMAT,
        "packs": {p.id: p.version for p in catalog.packs},
        "summary": {k: round(v, 4) for k, v in summary.figures(summary.results).items()},
        "reports": {
            r.case.name: {
                "expected": r.case.expected_top, "ok": r.ok, "rank_of_expected": r.rank_of_expected, "error": r.error,
                "differential": [{"diagnosis": d, "likelihood": label} for d, label in r.ranked],
            }
            for r in summary.results
        },
    }


def save(path: Path, run: dict[str, Any]) -> None:
    path.write_text(json.dumps(run, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def load(path: Path) -> dict[str, Any]:
    """A saved run; ValueError with the reason when the file is not one."""
    try:
        run = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not a saved harness run ({exc})") from None
    if not isinstance(run, dict) or run.get("format") != FORMAT or not isinstance(run.get("reports"), dict):
        raise ValueError(f"{path}: not a saved harness run (format {FORMAT!r} expected); make one with --save")
    return run


def _rank_key(rank: int | None) -> float:
    return float(rank) if rank is not None else float("inf")


def compare(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What moved from `old` to `new` (both as made by snapshot), sample by sample, in sample order."""
    out: dict[str, Any] = {
        "packs": {"before": old.get("packs", {}), "now": new.get("packs", {})},
        "figures": [{"figure": f, "before": old.get("summary", {}).get(f), "now": new["summary"].get(f)} for f in FIGURES],
        "rose": [], "fell": [], "new_misses": [], "new_hits": [], "likelihood_changes": [],
        "added_reports": sorted(set(new["reports"]) - set(old["reports"])),
        "removed_reports": sorted(set(old["reports"]) - set(new["reports"])),
    }
    for name in sorted(set(old["reports"]) & set(new["reports"])):
        was, now = old["reports"][name], new["reports"][name]
        row = {"report": name, "expected": now["expected"], "rank_before": was["rank_of_expected"], "rank_now": now["rank_of_expected"]}
        if was["expected"] == now["expected"] and now["expected"] is not None:
            if _rank_key(now["rank_of_expected"]) < _rank_key(was["rank_of_expected"]):
                out["rose"].append(row)
            elif _rank_key(now["rank_of_expected"]) > _rank_key(was["rank_of_expected"]):
                out["fell"].append(row)
        top3 = {"top3_before": [d["diagnosis"] for d in was["differential"][:3]], "top3_now": [d["diagnosis"] for d in now["differential"][:3]]}
        if was["ok"] and not now["ok"]:
            out["new_misses"].append({**row, **top3, **({"error": now["error"]} if now.get("error") else {})})
        elif now["ok"] and not was["ok"]:
            out["new_hits"].append({**row, **top3})
        before = {d["diagnosis"]: d["likelihood"] for d in was["differential"]}
        after = {d["diagnosis"]: d["likelihood"] for d in now["differential"]}
        order = [d["diagnosis"] for d in now["differential"]] + [d for d in before if d not in after]
        for dx in order:
            if before.get(dx) != after.get(dx):
                out["likelihood_changes"].append({"report": name, "diagnosis": dx, "expected": dx == now["expected"],
                                                  "before": before.get(dx, NOT_SHOWN), "now": after.get(dx, NOT_SHOWN)})
    out["moved"] = any(out[k] for k in ("rose", "fell", "new_misses", "new_hits", "likelihood_changes", "added_reports", "removed_reports"))
    return out


def table(rows: list[list[str]], indent: str = "  ") -> list[str]:
    """Rows of cells as aligned text columns (the first row is the header)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]


def _rank(rank: int | None) -> str:
    return str(rank) if rank is not None else "-"


def figure_text(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if name == "mrr" else f"{value:.1%}"


def _packs(versions: dict[str, str]) -> str:
    return ", ".join(f"{k}@{v}" for k, v in versions.items()) or "-"


def as_text(diff: dict[str, Any], baseline: str) -> list[str]:
    """The comparison as the tables the command line prints."""
    lines = [f"What moved since {baseline} (packs {_packs(diff['packs']['before'])} -> {_packs(diff['packs']['now'])}):", ""]
    lines += table([["figure", "before", "now"]] + [[FIGURES[f["figure"]], figure_text(f["figure"], f["before"]), figure_text(f["figure"], f["now"])]
                                                    for f in diff["figures"]])
    sections = [
        ("Expected diagnosis rose", "rose"), ("Expected diagnosis fell", "fell"),
        ("New misses (were within the harness's top 3, now are not)", "new_misses"), ("New hits", "new_hits"),
    ]
    for title, key in sections:
        rows = diff[key]
        if not rows:
            continue
        lines += ["", f"{title} ({len(rows)}):"]
        header = ["report", "expected", "rank before", "rank now"] + (["top 3 now"] if key in ("new_misses", "new_hits") else [])
        lines += table([header] + [[r["report"], r["expected"] or "(out of scope)", _rank(r["rank_before"]), _rank(r["rank_now"])]
                                   + ([", ".join(r["top3_now"]) or "no differential"] if key in ("new_misses", "new_hits") else [])
                                   for r in rows])
    if diff["likelihood_changes"]:
        lines += ["", f"Likelihood labels changed ({len(diff['likelihood_changes'])}; * = the expected diagnosis):"]
        lines += table([["report", "diagnosis", "before", "now"]] + [
            [c["report"], c["diagnosis"] + (" *" if c["expected"] else ""), c["before"], c["now"]] for c in diff["likelihood_changes"]])
    for title, key in (("Samples added", "added_reports"), ("Samples removed", "removed_reports")):
        if diff[key]:
            lines += ["", f"{title} ({len(diff[key])}): " + ", ".join(diff[key])]
    if not diff["moved"]:
        lines += ["", "Nothing moved: every sample ranks and labels its diagnoses as before."]
    return lines
