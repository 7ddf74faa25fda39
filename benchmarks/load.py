"""Soak test of the real server on loopback: wrk load on POST /evaluate, memory, then a graceful shutdown.

    python benchmarks/load.py                      # 60 s, 2 workers, 16 connections
    python benchmarks/load.py --duration 20 --workers 1 --connections 8 --json

1. Starts `python -m plugin serve --host 127.0.0.1 --port <free> --workers W` and waits for GET /health.
2. Runs wrk (apt-get install -y wrk) for --duration seconds; its Lua script (cycle.lua) cycles through every
   bundled sample document (sample_reports/**/*.json, not *.expected.json).
3. Samples the summed RSS of the server's process tree (uvicorn master + workers) every 0.5 s.
4. Sends --inflight concurrent requests whose bodies are held half-sent, sends SIGTERM to the master while they
   are in flight, then lets the bodies finish: every one must be answered 200 and the server must exit 0.

Exit code: 0 if all is well; 1 if any request failed under load, memory grew beyond the bound, an in-flight
request was not answered 200, or the server did not exit 0; 2 if the benchmark could not run.
Traffic goes to 127.0.0.1 only; the run ends by itself (duration + start-up + shutdown, a few minutes at most).
"""

from __future__ import annotations

import argparse
import json
import platform
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as c  # noqa: E402


def graceful_shutdown(server: c.Server, body: bytes, n: int, hold_s: float, timeout_s: float) -> dict[str, Any]:
    """n requests in flight (headers and half the body sent), SIGTERM to the master, then the rest of the bodies."""
    import httpx

    assert server.proc is not None
    half = len(body) // 2
    started = threading.Semaphore(0)
    release = threading.Event()
    results: list[Any] = [None] * n

    def stream() -> Iterator[bytes]:
        yield body[:half]
        started.release()  # the first half has been written to the socket by now
        release.wait(timeout_s)
        yield body[half:]

    def send(i: int) -> None:
        try:
            with httpx.Client(timeout=timeout_s) as client:
                r = client.post(server.url + "/evaluate", content=stream(),
                                headers={"content-type": "application/json", "content-length": str(len(body)),
                                         "accept": "application/fhir+json"})
                ok_bundle = r.status_code == 200 and r.json().get("resourceType") == "Bundle"
                results[i] = r.status_code if ok_bundle or r.status_code != 200 else "200-not-a-bundle"
        except Exception as exc:  # noqa: BLE001 - every failure is a result here
            results[i] = type(exc).__name__

    threads = [threading.Thread(target=send, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    in_flight = sum(started.acquire(timeout=max(0.01, deadline - time.monotonic())) for _ in range(n))
    time.sleep(0.5)  # let the server parse the headers and enter the handler
    t_term = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    time.sleep(hold_s)  # the server is shutting down while the bodies are still incomplete
    alive_while_held = server.proc.poll() is None
    release.set()
    for t in threads:
        t.join(timeout_s)
    try:
        rc: int | None = server.proc.wait(timeout_s)
    except Exception:  # noqa: BLE001
        rc = None
    exit_s = time.monotonic() - t_term
    completed = sum(1 for r in results if r == 200)
    failures: dict[str, int] = {}
    for r in results:
        if r != 200:
            failures[str(r)] = failures.get(str(r), 0) + 1
    return {"sent": n, "in_flight_at_sigterm": in_flight, "completed_200": completed, "failures": failures,
            "server_alive_while_bodies_held": alive_while_held, "hold_s": hold_s,
            "exit_code": rc, "sigterm_to_exit_s": round(exit_s, 2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of wrk load (default 60)")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn workers (default 2)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections kept open (default 16)")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    ap.add_argument("--inflight", type=int, default=20, help="requests in flight at SIGTERM (default 20)")
    ap.add_argument("--hold", type=float, default=1.0, help="seconds the in-flight bodies are held after SIGTERM (default 1)")
    ap.add_argument("--max-growth-mb", type=float, default=50.0, help="fail if RSS grows more than this (default 50)")
    ap.add_argument("--max-growth-pct", type=float, default=20.0, help="fail if RSS grows more than this %% (default 20)")
    ap.add_argument("--wait-quiet", type=float, default=0.0,
                    help="first wait up to this many s for the machine to be < 15%% busy with other work (default 0)")
    ap.add_argument("--wrk", default=None, help="path to wrk (default: from PATH)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of text")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the figures as JSON to this file")
    args = ap.parse_args()

    wrk = c.find_wrk(args.wrk)
    samples = c.sample_paths()
    if not samples:
        print("no sample documents under sample_reports/", file=sys.stderr)
        return 2
    busy_before = c.wait_quiet(args.wait_quiet) if args.wait_quiet else c.busy_pct(1.0)
    work = c.work_dir()
    server = c.ddx_server(c.free_port(), args.workers, work)
    server.start()
    try:
        t_start = time.monotonic()
        server.wait_ready()
        ready_s = time.monotonic() - t_start
        assert server.proc is not None
        sampler = c.RssSampler(server.proc.pid, 0.5)
        sampler.start()
        time.sleep(0.6)  # one idle sample first
        idle = sampler.samples[0][1] if sampler.samples else 0
        t_load = time.monotonic() - sampler.t0
        root = server.proc.pid
        cpu = c.CpuMeter(lambda: c.tree_rss(root).keys())
        cpu.start()
        try:
            load = c.run_wrk(wrk, server.url, samples, args.duration, args.connections, args.threads, work)
        finally:
            cpu_use = cpu.stop()
            sampler.stop()
        t_end = t_load + load.duration_s
        window = min(10.0, load.duration_s / 3)
        first = sampler.window_mean(t_load, t_load + window)
        last = sampler.window_mean(t_end - window, t_end)
        growth = last - first
        growth_pct = 100 * growth / first if first else 0.0
        processes = sampler.processes()

        body = samples[0].read_bytes()
        shutdown = graceful_shutdown(server, body, args.inflight, args.hold, 30.0)
    finally:
        rc_cleanup = server.stop()
    if shutdown["exit_code"] is None:
        shutdown["exit_code"] = rc_cleanup

    memory_ok = growth <= args.max_growth_mb * 1_048_576 and growth_pct <= args.max_growth_pct
    shutdown_ok = shutdown["completed_200"] == shutdown["sent"] and shutdown["exit_code"] == 0
    ok = load.errors == 0 and memory_ok and shutdown_ok
    report = {
        "benchmark": "soak", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": _cores(), "python": platform.python_version(), "platform": platform.platform()},
        "settings": {"duration_s": args.duration, "workers": args.workers, "connections": args.connections,
                     "wrk_threads": args.threads, "documents": len(samples), "rss_backend": c.RssSampler.backend()},
        "startup_s": round(ready_s, 2),
        "cpu": {"busy_before_pct": round(busy_before, 1), **cpu_use},
        "load": load.as_json(),
        "memory": {"idle_mb": c.mb(idle), "peak_mb": c.mb(sampler.peak_total), "window_s": round(window, 1),
                   "first_window_mean_mb": c.mb(first), "last_window_mean_mb": c.mb(last),
                   "growth_mb": c.mb(growth), "growth_pct": round(growth_pct, 1),
                   "bound": f"<= {args.max_growth_mb:g} MB and <= {args.max_growth_pct:g} %", "ok": memory_ok,
                   "processes": processes, "samples": len(sampler.samples)},
        "graceful_shutdown": {**shutdown, "ok": shutdown_ok},
        "server_log": str(server.log_path),
        "ok": ok,
    }
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_text(report)
    return 0 if ok else 1


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


def print_text(r: dict[str, Any]) -> None:
    s, ld, m, g = r["settings"], r["load"], r["memory"], r["graceful_shutdown"]
    lat = ld["latency_ms"]
    se = ld["socket_errors"]
    print(f"rad-ddx soak  {r['date']}  {r['machine']['cores']} cores  Python {r['machine']['python']}")
    print(f"  POST /evaluate, {s['workers']} workers, wrk {s['connections']} connections / {s['wrk_threads']} threads, "
          f"{ld['duration_s']:g} s, {s['documents']} sample documents in turn (server ready in {r['startup_s']:g} s)")
    cpu = r["cpu"]
    print(f"  cpu          machine {cpu['machine_busy_pct']:.0f} % busy during the load: server {cpu['server_pct']:.0f} %, "
          f"wrk + this script {cpu['generator_pct']:.0f} %, other processes {cpu['others_pct']:.0f} % "
          f"(before: {cpu['busy_before_pct']:.0f} %)" + ("  WARNING: shared machine, figures disturbed" if cpu["others_pct"] > 10 else ""))
    print(f"  throughput   {ld['requests_per_s']:.1f} req/s  ({ld['requests']} requests)")
    print(f"  latency      p50 {lat['p50']:.2f} ms  p90 {lat['p90']:.2f} ms  p99 {lat['p99']:.2f} ms  max {lat['max']:.2f} ms")
    print(f"  errors       {ld['errors']}  (non-2xx {ld['non_2xx']}, connect {se['connect']}, read {se['read']}, "
          f"write {se['write']}, timeout {se['timeout']})")
    print(f"  memory       idle {m['idle_mb']:.1f} MB, peak {m['peak_mb']:.1f} MB over {len(m['processes'])} processes "
          f"({s['rss_backend']}, every 0.5 s)")
    print(f"  growth       first {m['window_s']:g} s {m['first_window_mean_mb']:.1f} MB -> last {m['window_s']:g} s "
          f"{m['last_window_mean_mb']:.1f} MB: {m['growth_mb']:+.1f} MB ({m['growth_pct']:+.1f} %)  "
          f"bound {m['bound']}: {'ok' if m['ok'] else 'EXCEEDED'}")
    for p in m["processes"]:
        print(f"               pid {p['pid']:>7}  peak {p['peak_rss_mb']:6.1f} MB  {p['cmd'][:80]}")
    fails = ", ".join(f"{k} x{v}" for k, v in g["failures"].items()) or "none"
    print(f"  shutdown     {g['in_flight_at_sigterm']}/{g['sent']} requests in flight at SIGTERM, bodies held {g['hold_s']:g} s: "
          f"{g['completed_200']}/{g['sent']} answered 200 (failures: {fails}); exit code {g['exit_code']} "
          f"{g['sigterm_to_exit_s']:g} s after SIGTERM: {'ok' if g['ok'] else 'FAILED'}")
    print(f"  server log   {r['server_log']}")
    print("PASS" if r["ok"] else "FAIL")


if __name__ == "__main__":
    sys.exit(main())
