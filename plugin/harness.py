"""The validation harness: every sample report against its expected differential, with figures a knowledge author trusts."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from plugin import engine
from plugin.decide import DEFAULT_MAX_DIFFERENTIAL
from plugin.errors import InputInvalid
from plugin.knowledge.catalog import Catalog
from plugin.model import Result

OUT_OF_SCOPE = "out-of-scope"


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    document: Any
    expected_top: str | None
    acceptable_top3: tuple[str, ...]
    source: str
    expected_rank: int | None = None  # the rank the expected diagnosis had when the sample was last reviewed (None: unranked)
    reviewed: bool = False  # the expected file records expected_rank: a known miss there is known, not a failure


@dataclass(slots=True)
class CaseResult:
    case: Case
    ranked: list[tuple[str, str]]  # (diagnosis id, likelihood display)
    result: Result | None
    error: str | None = None

    @property
    def top(self) -> list[str]:
        return [d for d, _ in self.ranked]

    @property
    def rank_of_expected(self) -> int | None:
        exp = self.case.expected_top
        return self.top.index(exp) + 1 if exp in self.top else None

    @property
    def ok(self) -> bool:
        if self.error:
            return False
        if self.case.expected_top is None:
            return not self.ranked
        return self.rank_of_expected is not None and self.rank_of_expected <= 3

    @property
    def fails(self) -> bool:
        """What makes the harness exit 1: an error, a differential for an out-of-scope report, a reviewed sample whose
        expected diagnosis ranks worse than when it was reviewed, or an unreviewed one outside the top 3."""
        if self.error or self.case.expected_top is None or not self.case.reviewed:
            return not self.ok
        was, now = self.case.expected_rank, self.rank_of_expected
        return was is not None and (now is None or now > was)


def record_improved(folder: Path, results: list[CaseResult]) -> list[str]:
    """Write each improved rank into its expected file (a known miss that now ranks better, or an unreviewed sample):
    never a worse one, which stays a failure until someone edits the file on purpose. Returns the names written."""
    written = []
    for r in results:
        was, now = r.case.expected_rank, r.rank_of_expected
        if r.case.expected_top is None or now is None or (r.case.reviewed and was is not None and now >= was):
            continue
        path = folder / f"{r.case.name}.expected.json"
        expected = json.loads(path.read_text(encoding="utf-8"))
        expected["expected_rank"] = now
        path.write_text(json.dumps(expected, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(f"{r.case.name}: {was} -> {now}")
    return written


def load_cases(folder: Path) -> list[Case]:
    cases = []
    for doc_path in sorted(folder.rglob("*.json")):
        if doc_path.name.endswith(".expected.json"):
            continue
        expected_path = doc_path.with_name(doc_path.name.removesuffix(".json") + ".expected.json")
        expected = json.loads(expected_path.read_text(encoding="utf-8")) if expected_path.exists() else {}
        cases.append(
            Case(
                name=str(doc_path.relative_to(folder).with_suffix("")),
                document=json.loads(doc_path.read_text(encoding="utf-8")),
                expected_top=expected.get("expected_top"),
                acceptable_top3=tuple(expected.get("acceptable_top3", [])),
                source=expected.get("source", "(no expected file)"),
                expected_rank=expected.get("expected_rank"),
                reviewed="expected_rank" in expected,
            )
        )
    return cases


def run_case(case: Case, catalog: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> CaseResult:
    try:
        result = engine.result_of(case.document, catalog, max_items)
    except InputInvalid as exc:
        return CaseResult(case, [], None, "; ".join(f"{i.path}: {i.message}" for i in exc.issues))
    return CaseResult(case, [(c.diagnosis_id, c.likelihood_display) for c in result.candidates], result)


@dataclass(slots=True)
class Summary:
    results: list[CaseResult]
    group_of: dict[str, str]
    groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def in_scope(self) -> list[CaseResult]:
        return [r for r in self.results if r.case.expected_top is not None]

    def figures(self, results: list[CaseResult]) -> dict[str, float]:
        scoped = [r for r in results if r.case.expected_top is not None]
        n = len(scoped) or 1
        shown = [(d, r) for r in scoped for d in r.top[:3]]
        return {
            "top1": sum(1 for r in scoped if r.rank_of_expected == 1) / n,
            "top3": sum(1 for r in scoped if (r.rank_of_expected or 99) <= 3) / n,
            "mrr": sum(1 / r.rank_of_expected for r in scoped if r.rank_of_expected) / n,
            # how many of the diagnoses shown in the top 3 the samples' authors listed as acceptable there
            "top3_acceptable": sum(1 for d, r in shown if d in r.case.acceptable_top3) / (len(shown) or 1),
        }

    def as_json(self) -> dict[str, Any]:
        out_scope = [r for r in self.results if r.case.expected_top is None]
        by_group: defaultdict[str, list[CaseResult]] = defaultdict(list)
        for r in self.results:
            by_group[self.group_of.get(r.case.expected_top or "", OUT_OF_SCOPE)].append(r)
        confusion: Counter[tuple[str, str]] = Counter()
        for r in self.in_scope:
            confusion[(r.case.expected_top or "", r.top[0] if r.top else "(none)")] += 1
        return {
            "summary": {
                "reports": len(self.results),
                **{k: round(v, 4) for k, v in self.figures(self.results).items()},
                "out_of_scope_clean": all(r.ok for r in out_scope),
                "passed": not any(r.fails for r in self.results),
                "known_misses": sum(1 for r in self.results if not r.ok and not r.fails),
            },
            "groups": [
                {"group": g, "reports": len(rs), **{k: round(v, 4) for k, v in self.figures(rs).items()},
                 "clean": all(r.ok for r in rs)}
                for g, rs in sorted(by_group.items())
            ],
            "confusion": [{"expected": e, "top1": t, "count": c} for (e, t), c in sorted(confusion.items())],
            "mismatches": [self._mismatch(r) for r in self.results if not r.ok or (r.case.expected_top and r.rank_of_expected != 1)],
        }

    @staticmethod
    def _mismatch(r: CaseResult) -> dict[str, Any]:
        out: dict[str, Any] = {
            "report": r.case.name, "expected_top": r.case.expected_top, "got": r.top[:3],
            "rank_of_expected": r.rank_of_expected, "reviewed_rank": r.case.expected_rank, "fails_harness": r.fails,
            "source": r.case.source,
            "unexpected_in_top3": [d for d in r.top[:3] if d not in r.case.acceptable_top3],
        }
        if r.error:
            out["error"] = r.error
        if r.result:
            out["rationale"] = [
                {"diagnosis": c.diagnosis_id, "score": c.score,
                 "for": [o.clue_id for o in c.supporting], "against": [o.clue_id for o in c.opposing]}
                for c in r.result.candidates[:3]
            ]
        return out


def run(folder: Path, catalog: Catalog, max_items: int = DEFAULT_MAX_DIFFERENTIAL) -> Summary:
    group_of = {d: dx.group for p in catalog.packs for d, dx in p.diagnoses.items()}
    return Summary([run_case(c, catalog, max_items) for c in load_cases(folder)], group_of)
