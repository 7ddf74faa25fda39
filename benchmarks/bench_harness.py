"""The harness path over generated reports, in parallel processes, with the invariants of every output checked.

Each worker process loads the packs once, draws its share of documents (generate.py, its own seed) and serialises
them to JSON bytes; then, timed, for each: strict parse -> read -> decide -> write (Bundle) -> orjson -> invariants.
Memory: each worker's RSS after its first 10 % of the reports and at its end (flat = the difference stays small).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
from typing import Any

import _common as c


def _rss_mb() -> float:
    return c.mb(c._proc_rss(os.getpid()) or 0)


def _worker(args: tuple[int, int]) -> dict[str, Any]:
    seed, count = args
    import generate
    import invariants
    import orjson

    from plugin import engine
    from plugin.errors import InputInvalid
    from plugin.read import check

    t0 = time.perf_counter()
    catalog = engine.load_knowledge()
    t_load = time.perf_counter() - t0
    bodies = [orjson.dumps(d) for d in generate.documents(catalog, seed, count)]
    t_gen = time.perf_counter() - t0 - t_load
    refused = broken = in_scope = 0
    examples: list[str] = []
    rss_early = 0.0
    cpu0, t1 = time.process_time(), time.perf_counter()
    for i, body in enumerate(bodies):
        try:
            result = engine.result_of(check.parse_strict(body), catalog)
        except InputInvalid:
            refused += 1
            continue
        in_scope += bool(result.in_scope)
        found = invariants.problems(orjson.dumps(engine.render(result)))  # the bytes a client receives
        if found:
            broken += 1
            examples += found[:2]
        if i == count // 10:
            rss_early = _rss_mb()
    return {"reports": count, "refused": refused, "broken": broken, "in_scope": in_scope, "examples": examples[:4],
            "load_s": t_load, "generate_s": t_gen, "run_s": time.perf_counter() - t1, "run_cpu_s": time.process_time() - cpu0,
            "rss_early_mb": rss_early, "rss_end_mb": _rss_mb()}


def run(reports: int, processes: int, seed: int = 14) -> dict[str, Any]:
    shares = [reports // processes + (1 if k < reports % processes else 0) for k in range(processes)]
    ctx = mp.get_context("spawn")  # fresh interpreters: what a parallel archive run pays, packs loaded in each
    t0 = time.perf_counter()
    with ctx.Pool(processes) as pool:
        parts = pool.map(_worker, [(seed + k, n) for k, n in enumerate(shares)])
    wall = time.perf_counter() - t0
    run_wall = max(p["run_s"] for p in parts)
    return {
        "reports": reports, "processes": processes, "wall_s": round(wall, 2),
        "run_wall_s": round(run_wall, 2), "reports_per_s": round(reports / run_wall, 1),
        "cpu_us_per_report": round(sum(p["run_cpu_s"] for p in parts) / reports * 1e6, 1),
        "start_s": round(max(p["load_s"] for p in parts), 2), "generate_s": round(max(p["generate_s"] for p in parts), 2),
        "refused": sum(p["refused"] for p in parts), "invariants_broken": sum(p["broken"] for p in parts),
        "in_scope": sum(p["in_scope"] for p in parts), "examples": [e for p in parts for e in p["examples"]][:6],
        "rss_mb": [{"after_10pct": p["rss_early_mb"], "end": p["rss_end_mb"]} for p in parts],
        "rss_growth_mb": round(max(p["rss_end_mb"] - p["rss_early_mb"] for p in parts), 1),
    }
