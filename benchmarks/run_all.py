"""Every performance figure of issue 14 in one run: one table on stdout, everything as JSON.

    python3 benchmarks/run_all.py                      # ~4 min on 2 cores; writes benchmarks/results/run_all.json
    python3 benchmarks/run_all.py --quick              # shorter rounds, for a smoke run
    python3 benchmarks/run_all.py --skip-http --json-out /tmp/r.json

Sections (benchmarks/README.md says what each figure means):
  http     bare FastAPI vs `ddx serve` POST /evaluate: 2 workers, wrk 8 connections, median of 3 alternating rounds
  core     the full path in process on one core, per stage (parse, read, decide, write, serialise)
  harness  10,000 generated reports in 2 processes, fast invariants of every output, wall time and memory
  growth   decide time with packs of 100 / 1,000 / 10,000 clues; full path with 1 to 200 findings
  startup  a fresh interpreter: import, then load and check every pack

Exit status 0; 1 when an HTTP request failed, a generated report was refused or an output broke an invariant.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402

TARGETS = {"http_ratio_pct": 25.0, "http_p99_ms": 10.0, "core_reports_per_s": 3000.0, "harness_wall_s": 10.0, "startup_s": 1.0}


def _load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def measure(args: argparse.Namespace) -> dict[str, Any]:
    import bench_core
    import bench_harness

    out: dict[str, Any] = {"when": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
                           "python": platform.python_version(), "load_before": _load(), "busy_before_pct": round(c.busy_pct(), 1)}
    if not args.skip_http:
        import bench_http

        out["http"] = bench_http.run(c.find_wrk(args.wrk), args.duration, args.rounds, args.workers, args.connections, args.threads)
    out["core"] = bench_core.stages(args.core_rounds)
    out["harness"] = bench_harness.run(args.reports, args.processes)
    out["growth"] = bench_core.growth(3, (100, 1000, 10000), (1, 10, 50, 100, 200))
    out["startup"] = bench_core.startup(3)
    out["load_after"] = _load()
    return out


def table(r: dict[str, Any]) -> str:
    lines = [f"rad-ddx performance  {r['when']}  {r['cores']} cores  Python {r['python']}  "
             f"load average before {r['load_before']} (machine {r['busy_before_pct']} % busy), after {r['load_after']}",
             f"{'figure':58} {'value':>16}  target"]

    def row(name: str, value: str, target: str = "") -> None:
        lines.append(f"{name:58} {value:>16}  {target}")

    if "http" in r:
        h, s = r["http"], r["http"]["setup"]
        for name in ("bare", "evaluate"):
            x = h[name]
            row(f"HTTP {name:8} ({s['workers']} workers, {s['connections']} conn, median of {s['rounds']})",
                f"{x['requests_per_s']:,.0f} req/s",
                f"p50 {x['p50_ms']} ms, p99 {x['p99_ms']} ms, errors {x['errors']}, workers {x['worker_cpu_share_pct']} % CPU, "
                f"others {x['others_cpu_pct']} %")
        row("HTTP evaluate / bare", f"{h['ratio_pct']} %", f">= {TARGETS['http_ratio_pct']:.0f} %; p99 <= {TARGETS['http_p99_ms']:.0f} ms")
    k = r["core"]
    row(f"core, one core, {k['evaluated']} samples, median of {k['rounds']}", f"{k['reports_per_s']:,.0f} reports/s",
        f">= {TARGETS['core_reports_per_s']:,.0f}")
    for stage, us in k["stage_us"].items():
        row(f"  {stage}", f"{us:,.1f} us")
    row("  total per report", f"{k['total_us']:,.1f} us")
    h = r["harness"]
    row(f"harness, {h['reports']:,} generated reports, {h['processes']} processes", f"{h['wall_s']:.2f} s wall",
        f"<= {TARGETS['harness_wall_s']:.0f} s")
    row("  of which: start + generate / evaluate + invariants", f"{h['start_s'] + h['generate_s']:.2f} / {h['run_wall_s']:.2f} s",
        f"{h['reports_per_s']:,.0f} reports/s, {h['cpu_us_per_report']:,.0f} us CPU each")
    row("  refused / invariants broken / in scope", f"{h['refused']} / {h['invariants_broken']} / {h['in_scope']:,}")
    row("  memory per worker (after 10 % -> end)", ", ".join(f"{m['after_10pct']:.0f}->{m['end']:.0f} MB" for m in h["rss_mb"]),
        f"growth {h['rss_growth_mb']} MB")
    g = r["growth"]
    for x in g["by_clues"]:
        row(f"  decide, pack of {x['clues']:,} clues ({g['reports']} in-scope samples)", f"{x['decide_us']:,.0f} us",
            f"{x['us_per_clue']} us per clue")
    for x in g["by_findings"]:
        row(f"  full path, {x['findings']} findings", f"{x['full_path_us']:,.0f} us", f"{x['us_per_finding']} us per finding")
    st = r["startup"]
    row("start-up: import + load and check all packs", f"{st['total_s']:.2f} s",
        f"<= {TARGETS['startup_s']:.0f} s (import {st['import_s']} s, load {st['load_and_check_s']} s)")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10.0, help="seconds of wrk load per round and server (default 10)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating HTTP rounds (default 3)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--core-rounds", type=int, default=5, help="rounds of the in-process figures (default 5)")
    ap.add_argument("--reports", type=int, default=10_000, help="generated reports for the harness path (default 10,000)")
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--quick", action="store_true", help="3 s rounds, 3 core rounds, 2,000 reports")
    ap.add_argument("--wrk", default=None)
    ap.add_argument("--json-out", type=Path, default=c.BENCH / "results" / "run_all.json")
    args = ap.parse_args()
    if args.quick:
        args.duration, args.core_rounds, args.reports = 3.0, 3, 2000
    r = measure(args)
    print(table(r))
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(r, indent=1) + "\n")
    print(f"JSON: {args.json_out}")
    failed = r["harness"]["refused"] or r["harness"]["invariants_broken"] or ("http" in r and (
        r["http"]["bare"]["errors"] or r["http"]["evaluate"]["errors"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
