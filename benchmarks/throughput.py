"""What rad-ddx costs on top of FastAPI: bare endpoint vs POST /evaluate under wrk, and the core without HTTP.

    python benchmarks/throughput.py                 # 20 s each over HTTP, 1 worker; core micro-benchmark
    python benchmarks/throughput.py --duration 10 --runs 20 --json
    python benchmarks/throughput.py --skip-http     # only the in-process figures

1. Core, in process (shipped packs, every bundled sample): `plugin.engine.result_of` + `plugin.engine.render`
   per report, min and median over --runs runs; then the same Bundle put through fhir.resources.R4B models
   (`get_fhir_model_class(rt).model_validate(res).model_dump_json()` for each entry), which is what the
   plain-JSON design avoids on the hot path.
2. HTTP, same machine, same generator (wrk, 1 thread, --connections): a bare FastAPI app (bare_app.py: parse a
   JSON body, answer a few bytes) and `ddx serve`, each under uvicorn with --workers, each for --duration
   seconds with the same representative sample (the one whose core time is the median; --sample to choose).

Exit code 0, or 1 if any HTTP request failed, 2 if it could not run. Loopback only; it ends by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _common as c  # noqa: E402


def _ms(times: list[float]) -> dict[str, float]:
    return {"min": round(min(times) * 1000, 3), "median": round(statistics.median(times) * 1000, 3)}


def core_bench(runs: int, model_runs: int) -> dict[str, Any]:
    import orjson
    from fhir.resources.R4B import get_fhir_model_class

    from plugin import engine
    from plugin.read import check as validate

    catalog = engine.load_knowledge()
    per_sample = []
    for path in c.sample_paths():
        raw = path.read_bytes()
        document = validate.parse_strict(raw)
        result = engine.result_of(document, catalog)  # warm-up (and any lazy caches)
        bundle = engine.render(result)
        core, full = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            result = engine.result_of(document, catalog)
            bundle = engine.render(result)
            core.append(time.perf_counter() - t0)
        for _ in range(runs):  # what the route does: strict parse, run, render, orjson
            t0 = time.perf_counter()
            orjson.dumps(engine.render(engine.result_of(validate.parse_strict(raw), catalog)))
            full.append(time.perf_counter() - t0)

        def through_models(bundle: dict[str, Any] = bundle) -> None:
            for entry in bundle["entry"]:
                res = entry["resource"]
                get_fhir_model_class(res["resourceType"]).model_validate(res).model_dump_json()

        def whole_bundle(bundle: dict[str, Any] = bundle) -> None:
            get_fhir_model_class("Bundle").model_validate(bundle).model_dump_json()

        through_models()
        whole_bundle()  # warm-up: model classes are built lazily
        models, whole = [], []
        for _ in range(model_runs):
            t0 = time.perf_counter()
            through_models()
            models.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            whole_bundle()
            whole.append(time.perf_counter() - t0)
        per_sample.append({"sample": path.stem, "entries": len(bundle["entry"]), "in_scope": bool(result.in_scope),
                           "bytes_in": len(raw), "core_ms": _ms(core), "core_with_json_ms": _ms(full),
                           "r4b_entries_ms": _ms(models), "r4b_bundle_ms": _ms(whole)})

    def agg(key: str, stat: str) -> dict[str, float]:
        vals = [s[key][stat] for s in per_sample]
        return {"median": round(statistics.median(vals), 3), "mean": round(statistics.fmean(vals), 3),
                "min": round(min(vals), 3), "max": round(max(vals), 3)}

    summary = {k: agg(k, "median") for k in ("core_ms", "core_with_json_ms", "r4b_entries_ms", "r4b_bundle_ms")}
    summary["core_min_ms"] = agg("core_ms", "min")
    summary["r4b_over_core"] = round(summary["r4b_entries_ms"]["median"] / summary["core_ms"]["median"], 1)
    return {"runs": runs, "model_runs": model_runs, "samples": len(per_sample), "summary": summary, "per_sample": per_sample}


def http_bench(wrk: str, sample: Path, duration: float, workers: int, connections: int, threads: int,
               wait_quiet: float) -> dict[str, Any]:
    work = c.work_dir()
    out: dict[str, Any] = {}
    for name, make in (("bare", c.bare_server), ("evaluate", c.ddx_server)):
        busy_before = c.wait_quiet(wait_quiet) if wait_quiet else c.busy_pct(1.0)
        server = make(c.free_port(), workers, work)
        server.start()
        try:
            server.wait_ready()
            assert server.proc is not None
            root = server.proc.pid
            c.run_wrk(wrk, server.url, [sample], min(3.0, duration), connections, threads, work)  # warm-up
            cpu = c.CpuMeter(lambda root=root: c.tree_rss(root).keys())
            cpu.start()
            result = c.run_wrk(wrk, server.url, [sample], duration, connections, threads, work)
            cpu_use = cpu.stop()
        finally:
            server.stop()
        out[name] = {**result.as_json(), "cpu": {"busy_before_pct": round(busy_before, 1), **cpu_use},
                     "server_log": str(server.log_path)}
    out["ratio_bare_over_evaluate"] = round(out["bare"]["requests_per_s"] / out["evaluate"]["requests_per_s"], 2)
    out["evaluate_share_of_bare_pct"] = round(100 * out["evaluate"]["requests_per_s"] / out["bare"]["requests_per_s"], 1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of wrk load per server (default 20)")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn workers for both servers (default 1)")
    ap.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    ap.add_argument("--runs", type=int, default=50, help="core runs per sample (default 50)")
    ap.add_argument("--model-runs", type=int, default=10, help="fhir.resources runs per sample (default 10)")
    ap.add_argument("--sample", default=None, help="sample file stem for the HTTP runs (default: median core time)")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-core", action="store_true")
    ap.add_argument("--wait-quiet", type=float, default=0.0,
                    help="before each timed part wait up to this many s for the machine to be < 15%% busy (default 0)")
    ap.add_argument("--wrk", default=None, help="path to wrk (default: from PATH)")
    ap.add_argument("--json", action="store_true", help="print the figures as JSON instead of text")
    ap.add_argument("--json-out", type=Path, default=None, help="also write the figures as JSON to this file")
    args = ap.parse_args()

    wrk = None if args.skip_http else c.find_wrk(args.wrk)
    samples = c.sample_paths()
    report: dict[str, Any] = {
        "benchmark": "throughput", "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cores": len(os.sched_getaffinity(0)), "python": platform.python_version(), "platform": platform.platform()},
    }
    core = None
    if not args.skip_core:
        busy_before = c.wait_quiet(args.wait_quiet) if args.wait_quiet else c.busy_pct(1.0)
        cpu = c.CpuMeter(lambda: ())
        cpu.start()
        core = core_bench(args.runs, args.model_runs)
        core["cpu"] = {"busy_before_pct": round(busy_before, 1), **cpu.stop()}
    if core:
        report["core"] = core
    if not args.skip_http:
        assert wrk is not None
        if args.sample:
            sample = next((p for p in samples if p.stem == args.sample), None)
            if sample is None:
                print(f"no sample named {args.sample}", file=sys.stderr)
                return 2
        elif core:
            ranked = sorted((s for s in core["per_sample"] if s["in_scope"]), key=lambda s: s["core_ms"]["median"])
            stem = ranked[len(ranked) // 2]["sample"]
            sample = next(p for p in samples if p.stem == stem)
        else:
            sample = samples[0]
        report["http"] = {"sample": sample.stem, "bytes": sample.stat().st_size, "duration_s": args.duration,
                          "workers": args.workers, "connections": args.connections, "wrk_threads": args.threads,
                          **http_bench(wrk, sample, args.duration, args.workers, args.connections, args.threads, args.wait_quiet)}
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=2) + "\n")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_text(report)
    failed = any(report["http"][k]["errors"] for k in ("bare", "evaluate")) if "http" in report else False
    return 1 if failed else 0


def print_text(r: dict[str, Any]) -> None:
    print(f"rad-ddx throughput  {r['date']}  {r['machine']['cores']} cores  Python {r['machine']['python']}")
    if "core" in r:
        core, s = r["core"], r["core"]["summary"]
        print(f"core, no HTTP ({core['samples']} samples; per sample min/median over {core['runs']} runs, "
              f"models over {core['model_runs']}; figures below: across samples)")
        print(f"  engine.result_of + render           median {s['core_ms']['median']:.3f} ms/report  "
              f"(range of sample medians {s['core_ms']['min']:.3f}-{s['core_ms']['max']:.3f}; "
              f"best single run, median over samples {s['core_min_ms']['median']:.3f})")
        print(f"  + strict JSON parse and orjson       median {s['core_with_json_ms']['median']:.3f} ms/report")
        print(f"  fhir.resources.R4B, each entry       median {s['r4b_entries_ms']['median']:.3f} ms/report  "
              f"(range {s['r4b_entries_ms']['min']:.3f}-{s['r4b_entries_ms']['max']:.3f}; "
              f"{s['r4b_over_core']:g}x the whole core)")
        print(f"  fhir.resources.R4B, whole Bundle     median {s['r4b_bundle_ms']['median']:.3f} ms/report")
        _cpu_line(core["cpu"])
    if "http" in r:
        h = r["http"]
        print(f"HTTP, wrk {h['connections']} connections / {h['wrk_threads']} thread, {h['workers']} worker, "
              f"{h['duration_s']:g} s each, sample {h['sample']} ({h['bytes']} bytes)")
        for name, label in (("bare", "bare FastAPI      "), ("evaluate", "rad-ddx /evaluate ")):
            x = h[name]
            print(f"  {label} {x['requests_per_s']:8.1f} req/s  p50 {x['latency_ms']['p50']:7.2f} ms  "
                  f"p99 {x['latency_ms']['p99']:7.2f} ms  errors {x['errors']}  "
                  f"(server {x['cpu']['server_pct']:.0f} %, wrk {x['cpu']['generator_pct']:.0f} %, "
                  f"others {x['cpu']['others_pct']:.0f} % of the machine)"
                  + ("  WARNING: disturbed" if x["cpu"]["others_pct"] > 10 else ""))
        print(f"  ratio bare / evaluate {h['ratio_bare_over_evaluate']:g}x  "
              f"(rad-ddx gives {h['evaluate_share_of_bare_pct']:g} % of the bare endpoint's throughput)")


def _cpu_line(cpu: dict[str, float]) -> None:
    warn = "  WARNING: shared machine, figures disturbed" if cpu["others_pct"] > 10 else ""
    print(f"  (machine {cpu['machine_busy_pct']:.0f} % busy meanwhile, other processes {cpu['others_pct']:.0f} %){warn}")


if __name__ == "__main__":
    sys.exit(main())
