"""Correctness first for performance work: a digest of every output of many documents, to compare two commits.

    python3 benchmarks/output_digests.py --out /tmp/before.json                 # on the commit before a change
    python3 benchmarks/output_digests.py --out /tmp/after.json --compare /tmp/before.json   # after it: exit 1 on a difference

Documents: every bundled, held-out and awaiting report (`sample_reports/`, `heldout_reports/`, `docs/cases-awaiting-a-diagnosis/`)
and N documents drawn from the packs' vocabulary (benchmarks/generate.py, fixed seed). For each: the Result's repr (scores,
truths, trace, every candidate) and every output shape in FHIR 4.0 and 5.0, with fixed ids and a fixed clock. String hashing
is pinned (PYTHONHASHSEED=0, set by re-running itself) so that reprs of sets compare across runs.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402
import orjson  # noqa: E402

FOLDERS = ("sample_reports", "heldout_reports", "docs/cases-awaiting-a-diagnosis")
CLOCK = datetime(2026, 1, 1, tzinfo=UTC)


def _documents(catalog: Any, generated: int) -> list[tuple[str, Any]]:
    import generate

    docs = []
    for folder in FOLDERS:
        for path in sorted((c.ROOT / folder).rglob("*.json")):
            if not path.name.endswith(".expected.json"):
                docs.append((str(path.relative_to(c.ROOT)), orjson.loads(path.read_bytes())))
    docs += [(f"generated-{i}", d) for i, d in enumerate(generate.documents(catalog, 7, generated))]
    return docs


def digests(generated: int) -> dict[str, str]:
    from plugin import engine, read
    from plugin.errors import InputInvalid
    from plugin.write import WRITERS

    catalog = engine.load_knowledge()
    out = {}
    for name, doc in _documents(catalog, generated):
        try:
            result = engine.result_of(doc, catalog, 5, read.form_of(doc))
        except InputInvalid as exc:
            out[name] = "invalid:" + hashlib.sha256(repr(exc.issues).encode()).hexdigest()
            continue
        h = hashlib.sha256(repr(result).encode())
        for shape in WRITERS:
            for version in ("4.0", "5.0"):
                n = itertools.count()
                written = engine.render(result, shape, lambda n=n: f"id-{next(n)}", lambda: CLOCK, None, version)
                h.update(orjson.dumps(written, option=orjson.OPT_SORT_KEYS))
        out[name] = h.hexdigest()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="digests written before: list the documents whose output changed")
    parser.add_argument("--generated", type=int, default=3000)
    args = parser.parse_args()
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"})
    out = digests(args.generated)
    args.out.write_text(json.dumps(out, indent=0), encoding="utf-8")
    print(f"{len(out)} documents, {sum(v.startswith('invalid') for v in out.values())} refused: {args.out}")
    if args.compare:
        before = json.loads(args.compare.read_text(encoding="utf-8"))
        changed = sorted(k for k in before.keys() | out.keys() if before.get(k) != out.get(k))
        print(f"{len(changed)} outputs differ" + (": " + ", ".join(changed[:10]) if changed else ""))
        return 1 if changed else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
