"""In-process figures: the full path per stage on one core, growth with pack size and findings, start-up.

CPU time of this process (time.process_time), not wall time: on a shared machine the wall clock also counts the
time other processes had the core. Each figure is the median over rounds (each round: every document once).
"""

from __future__ import annotations

import copy
import dataclasses
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import _common as c

STAGES = ("parse", "read", "decide", "write", "serialise")


def _setup() -> tuple[Any, list[bytes]]:
    from plugin import engine

    return engine.load_knowledge(), [p.read_bytes() for p in c.sample_paths()]


def _timed(catalog: Any, bodies: list[bytes]) -> tuple[list[float], int]:
    """Per-stage CPU seconds summed over the bodies, and how many went the whole way (the rest are refused)."""
    import orjson

    from plugin import read
    from plugin.decide import decide
    from plugin.write import Stamp, write

    clock = time.process_time
    sums = [0.0] * len(STAGES)
    done = 0
    for body in bodies:
        t0 = clock()
        document = read.READERS["findings"].parse(body)
        t1 = clock()
        form = read.form_of(document)
        if read.READERS[form].check(document, catalog):
            continue
        report = read.READERS[form].to_report(document, catalog)
        t2 = clock()
        result = decide(report, catalog)
        t3 = clock()
        out = write(result, "bundle", Stamp(lambda: str(uuid.uuid4()), datetime.now(UTC)))
        t4 = clock()
        orjson.dumps(out)
        t5 = clock()
        for i, (a, b) in enumerate(((t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5))):
            sums[i] += b - a
        done += 1
    return sums, done


def stages(rounds: int) -> dict[str, Any]:
    catalog, bodies = _setup()
    _timed(catalog, bodies)  # warm-up: caches built on first use
    per_round = []
    for _ in range(rounds):
        sums, done = _timed(catalog, bodies)
        per_round.append([s / done for s in sums])
    stage_us = {name: round(statistics.median(r[i] for r in per_round) * 1e6, 1) for i, name in enumerate(STAGES)}
    total = statistics.median(sum(r) for r in per_round)
    return {"documents": len(bodies), "evaluated": done, "rounds": rounds, "stage_us": stage_us,
            "total_us": round(total * 1e6, 1), "reports_per_s": round(1 / total, 1)}


def _synthetic(catalog: Any, n_clues: int) -> Any:
    """The shipped pack with its clues repeated (new ids) up to n_clues: same predicates, same effects, n_clues long."""
    pack = catalog.packs[0]
    clues, unstated = [], dict(pack.unstated)
    for k in range(n_clues):
        base = pack.clues[k % len(pack.clues)]
        clue = base if k < len(pack.clues) else dataclasses.replace(base, id=f"{base.id}~{k}")
        clues.append(clue)
        for e in clue.effects:
            unstated[(clue.id, e.diagnosis)] = dataclasses.replace(pack.unstated[(base.id, e.diagnosis)], clue_id=clue.id)
    return dataclasses.replace(catalog, packs=(dataclasses.replace(pack, clues=tuple(clues), unstated=unstated),))


def _median_cpu(fn: Any, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return statistics.median(times)


def growth(rounds: int, clue_counts: tuple[int, ...], finding_counts: tuple[int, ...]) -> dict[str, Any]:
    import orjson

    from plugin import engine, read
    from plugin.decide import decide

    catalog, bodies = _setup()
    reports = []
    for body in bodies:
        doc = read.READERS["findings"].parse(body)
        if read.form_of(doc) == "findings" and not read.problems(doc, catalog):
            report = read.read(doc, catalog)
            if catalog.packs[0].scope(report) is True:
                reports.append(report)
    by_clues = []
    for n in clue_counts:
        synthetic = _synthetic(catalog, n)

        def run(synthetic: Any = synthetic) -> None:
            for r in reports:
                decide(r, synthetic)

        run()  # warm-up (the clue plan is built on first use)
        us = _median_cpu(run, rounds) / len(reports) * 1e6
        by_clues.append({"clues": n, "decide_us": round(us, 1), "us_per_clue": round(us / n, 3)})

    sample = next(p for p in c.sample_paths() if "007-mo-thigh-after-contusion" in p.name)
    base = orjson.loads(sample.read_bytes())
    by_findings = []
    for n in finding_counts:
        doc = copy.deepcopy(base)
        doc["findings"] = [{**base["findings"][k % len(base["findings"])], "id": f"f{k + 1}"} for k in range(n)]
        body = orjson.dumps(doc)

        def full(body: bytes = body) -> None:
            for _ in range(20):
                orjson.dumps(engine.render(engine.result_of(read.READERS["findings"].parse(body), catalog)))

        full()
        us = _median_cpu(full, rounds) / 20 * 1e6
        by_findings.append({"findings": n, "full_path_us": round(us, 1), "us_per_finding": round(us / n, 1)})
    return {"reports": len(reports), "by_clues": by_clues, "by_findings": by_findings,
            "note": "synthetic packs: the shipped pack's clues repeated under new ids; findings: sample 007's repeated"}


STARTUP = ("import time; t0 = time.perf_counter(); from plugin import engine; t1 = time.perf_counter(); "
           "engine.load_knowledge(); t2 = time.perf_counter(); print(t1 - t0, t2 - t1)")


def startup(rounds: int) -> dict[str, Any]:
    """A fresh interpreter: import the engine, then load and check every pack (what each worker pays)."""
    imports, loads = [], []
    for _ in range(rounds):
        out = subprocess.run([sys.executable, "-c", STARTUP], cwd=c.ROOT, capture_output=True, text=True, check=True)
        a, b = (float(x) for x in out.stdout.split())
        imports.append(a)
        loads.append(b)
    return {"rounds": rounds, "import_s": round(statistics.median(imports), 3), "load_and_check_s": round(statistics.median(loads), 3),
            "total_s": round(statistics.median(a + b for a, b in zip(imports, loads, strict=True)), 3)}
