"""Bare FastAPI vs `ddx serve` POST /evaluate, the same way: uvicorn with W workers, wrk with C connections, R rounds
alternating (bare, evaluate, bare, evaluate, ...), every bundled sample document in turn.

Both servers are started once and stay up; only the one under load works. The spread over workers is each worker's
share of the CPU time the server's processes used during the round (from /proc), so a worker left idle shows as 0 %.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import _common as c


def _workers(master: int) -> list[int]:
    return sorted(pid for pid in c.tree_rss(master) if pid != master)


def _round(wrk: str, server: c.Server, bodies: list[Path], duration: float, connections: int, threads: int,
           work: Path) -> dict[str, Any]:
    assert server.proc is not None
    pids = _workers(server.proc.pid)
    before = {pid: c.proc_cpu_s(pid) or 0.0 for pid in pids}
    meter = c.CpuMeter(lambda: [server.proc.pid, *pids] if server.proc else pids)
    meter.start()
    result = c.run_wrk(wrk, server.url, bodies, duration, connections, threads, work)
    cpu = meter.stop()
    used = {pid: (c.proc_cpu_s(pid) or 0.0) - before[pid] for pid in pids}
    total = sum(used.values()) or 1.0
    shares = sorted((round(100 * u / total) for u in used.values() if u > 0.05 * total / max(1, len(used))), reverse=True)
    return {**result.as_json(), "cpu": cpu, "worker_cpu_share_pct": shares}


def run(wrk: str, duration: float, rounds: int, workers: int, connections: int, threads: int) -> dict[str, Any]:
    work = c.work_dir()
    bodies = c.sample_paths()
    servers = {"bare": c.bare_server(c.free_port(), workers, work),
               "evaluate": c.ddx_server(c.free_port(), workers, work, {"DDX_LOG_LEVEL": "INFO",
                                                                      "DDX_DATABASE_URL": f"sqlite:///{work}/ddx.sqlite3"})}
    try:
        for s in servers.values():
            s.start()
        for s in servers.values():
            s.wait_ready()
            c.run_wrk(wrk, s.url, bodies, 3.0, connections, threads, work)  # warm-up: every worker, every document
        runs: dict[str, list[dict[str, Any]]] = {"bare": [], "evaluate": []}
        for _ in range(rounds):
            for name, s in servers.items():
                runs[name].append(_round(wrk, s, bodies, duration, connections, threads, work))
    finally:
        for s in servers.values():
            s.stop()

    def summary(rs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"requests_per_s": round(statistics.median(r["requests_per_s"] for r in rs), 1),
                "p50_ms": statistics.median(r["latency_ms"]["p50"] for r in rs),
                "p99_ms": statistics.median(r["latency_ms"]["p99"] for r in rs),
                "errors": sum(r["errors"] for r in rs),
                "worker_cpu_share_pct": rs[len(rs) // 2]["worker_cpu_share_pct"],
                "others_cpu_pct": statistics.median(r["cpu"]["others_pct"] for r in rs), "rounds": rs}

    out = {name: summary(rs) for name, rs in runs.items()}
    out["ratio_pct"] = round(100 * out["evaluate"]["requests_per_s"] / out["bare"]["requests_per_s"], 1)
    out["setup"] = {"workers": workers, "connections": connections, "wrk_threads": threads, "duration_s": duration,
                    "rounds": rounds, "documents": len(bodies), "logs": str(work)}
    return out
