"""The cost of hostile bodies: every place of the findings schema x every shape an attacker would send there
(tests/hostile.py), at a chosen body size, plus the largest document the schema accepts. Prints the worst CPU time per
request and per KB. In process, no HTTP (what POST /evaluate does with the bytes: parse, check, evaluate, render).

    python3 benchmarks/hostile.py                      # bodies of ~1 MiB (the default DDX_MAX_BODY_BYTES), 3 runs each
    python3 benchmarks/hostile.py --bytes 21000        # the size of the body that cost ~7 s before the fix
    python3 benchmarks/hostile.py --top 20 --json

Run from the repository root. CPU time is process time (this process only), the least of --runs runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from plugin import load_knowledge  # noqa: E402
from tests.hostile import Case, body, cases, handle, largest_valid, sized  # noqa: E402


def cpu(raw: bytes, catalog: object, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        handle(raw, catalog)  # type: ignore[arg-type]
        best = min(best, time.process_time() - start)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bytes", type=int, default=1_048_576, help="target body size (default 1 MiB)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    catalog = load_knowledge()
    rows: list[tuple[float, int, str]] = []
    all_cases: list[Case] = cases(catalog)
    for case in all_cases:
        raw = body(case, sized(case, args.bytes))
        if len(raw) > args.bytes * 1.05:
            raw = body(case, max(1, int(sized(case, args.bytes) * args.bytes / len(raw))))
        rows.append((cpu(raw, catalog, args.runs), len(raw), f"{case.place} [{case.shape}]"))
    valid = largest_valid(catalog)
    rows.append((cpu(valid, catalog, args.runs), len(valid), "largest valid document"))

    by_ms = sorted(rows, reverse=True)
    by_kb = sorted(rows, key=lambda r: r[0] / max(r[1], 1) * 1024, reverse=True)
    worst_ms, worst_kb = by_ms[0], by_kb[0]
    summary = {
        "cases": len(rows), "target_bytes": args.bytes, "runs": args.runs,
        "worst_ms": {"ms": round(worst_ms[0] * 1e3, 2), "bytes": worst_ms[1], "case": worst_ms[2]},
        "worst_cpu_per_kb": {"ms_per_kb": round(worst_kb[0] * 1e3 / (worst_kb[1] / 1024), 4), "ms": round(worst_kb[0] * 1e3, 2),
                             "bytes": worst_kb[1], "case": worst_kb[2]},
        "largest_valid": {"ms": round(rows[-1][0] * 1e3, 2), "bytes": rows[-1][1]},
    }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"rad-ddx hostile bodies: {len(rows)} cases (schema places x shapes), ~{args.bytes} bytes each, least of {args.runs} runs")
    print(f"  worst CPU per request  {summary['worst_ms']['ms']:9.2f} ms   {worst_ms[1]:>8} bytes  {worst_ms[2]}")
    print(f"  worst CPU per KB       {summary['worst_cpu_per_kb']['ms_per_kb']:9.4f} ms/KB  ({summary['worst_cpu_per_kb']['ms']} ms, "
          f"{worst_kb[1]} bytes)  {worst_kb[2]}")
    print(f"  largest valid document {summary['largest_valid']['ms']:9.2f} ms   {rows[-1][1]:>8} bytes")
    print(f"  top {args.top} by CPU:")
    for ms, size, name in by_ms[: args.top]:
        print(f"    {ms * 1e3:9.2f} ms  {size:>8} bytes  {ms * 1e3 / (size / 1024):8.4f} ms/KB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
