"""Shared by load.py and throughput.py: samples, a loopback server in a subprocess, wrk, RSS of a process tree.

Everything here talks to 127.0.0.1 only, and every loop is bounded in time.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
SAMPLES = ROOT / "sample_reports"
LUA = BENCH / "cycle.lua"
HOST = "127.0.0.1"

WRK_MISSING = (
    "wrk (the HTTP load generator) is not installed.\n"
    "Install it from Debian:  apt-get update && apt-get install -y wrk\n"
    "(or point --wrk at a wrk binary)."
)


def sample_paths() -> list[Path]:
    """The bundled sample documents: sample_reports/**/*.json without the *.expected.json answers."""
    return sorted(p for p in SAMPLES.rglob("*.json") if not p.name.endswith(".expected.json"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def find_wrk(explicit: str | None) -> str:
    path = explicit or shutil.which("wrk")
    if not path or not os.access(path, os.X_OK):
        print(WRK_MISSING, file=sys.stderr)
        sys.exit(2)
    return path


# ---------------------------------------------------------------- server in a subprocess

@dataclass
class Server:
    """A server started by us on loopback, in its own session so that nothing outlives the benchmark."""

    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    _log: Any = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 90.0) -> None:
        """Poll GET /health until 200; exit 2 with the server's log tail if it dies or never gets ready."""
        import httpx

        assert self.proc is not None
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.fail(f"server exited with code {self.proc.returncode} before it was ready")
            try:
                r = httpx.get(self.url + "/health", timeout=2.0)
                if r.status_code == 200:
                    return
                last = f"/health answered {r.status_code}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        self.fail(f"server not ready after {timeout:.0f} s ({last})")

    def fail(self, message: str) -> None:
        tail = self.log_tail()
        self.stop()
        print(f"{message}\n--- server log ({self.log_path}) ---\n{tail}", file=sys.stderr)
        sys.exit(2)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the master and wait; SIGKILL the whole session we created if it does not go."""
        rc = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    pass
            rc = self.proc.poll()
            try:  # stragglers (workers of a killed master) are in the session we made: its id is the master's pid
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            if rc is None:
                self.proc.wait(5)
                rc = self.proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return rc


def ddx_server(port: int, workers: int, log_dir: Path, env: dict[str, str] | None = None) -> Server:
    argv = [sys.executable, "-m", "plugin", "serve", "--host", HOST, "--port", str(port), "--workers", str(workers)]
    return Server(argv, port, log_dir / f"ddx-{port}.log", env or {})


def bare_server(port: int, workers: int, log_dir: Path) -> Server:
    argv = [sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(BENCH), "--host", HOST, "--port", str(port),
            "--workers", str(workers), "--no-access-log", "--log-level", "warning", "--timeout-graceful-shutdown", "20"]
    return Server(argv, port, log_dir / f"bare-{port}.log")


def work_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="ddx-bench-"))


# ---------------------------------------------------------------- wrk

@dataclass
class WrkResult:
    requests: int
    duration_s: float
    ok2xx: int
    non2xx: int
    socket_errors: dict[str, int]
    latency_ms: dict[str, float]
    raw: str

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0

    @property
    def errors(self) -> int:
        """Every failed request: non-2xx answers plus connect/read/write errors and timeouts."""
        e = self.socket_errors
        return self.non2xx + e["connect"] + e["read"] + e["write"] + e["timeout"]

    def as_json(self) -> dict[str, Any]:
        return {"requests": self.requests, "duration_s": round(self.duration_s, 2), "requests_per_s": round(self.rps, 1),
                "ok_2xx": self.ok2xx, "non_2xx": self.non2xx, "socket_errors": self.socket_errors, "errors": self.errors,
                "latency_ms": self.latency_ms}


def run_wrk(wrk: str, url: str, bodies: list[Path], duration: float, connections: int, threads: int,
            work: Path, path: str = "/evaluate", timeout_s: float = 10.0) -> WrkResult:
    manifest = work / f"bodies-{time.monotonic_ns()}.txt"
    manifest.write_text("".join(f"{p}\n" for p in bodies))
    threads = max(1, min(threads, connections))
    argv = [wrk, "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", f"{timeout_s:g}s",
            "-s", str(LUA), url, "--", str(manifest), path]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60, stdin=subprocess.DEVNULL)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRK_JSON ")), None)
    if proc.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    d = json.loads(line[len("WRK_JSON "):])
    lat = d["latency_us"]
    return WrkResult(
        requests=d["requests"], duration_s=d["duration_us"] / 1e6, ok2xx=d["ok2xx"], non2xx=d["non2xx"],
        socket_errors={k: d["errors"][k] for k in ("connect", "read", "write", "timeout")},
        latency_ms={k: round(lat[k] / 1000, 2) for k in ("min", "mean", "p50", "p90", "p99", "max")},
        raw=proc.stdout,
    )


# ---------------------------------------------------------------- memory of a process tree

def _proc_children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def _proc_rss(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return 0  # a zombie has no VmRSS line


def _proc_name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        return "?"


def tree_rss(root: int) -> dict[int, int]:
    """RSS in bytes of root and all its descendants: psutil if installed, else /proc."""
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        psutil = None
    if psutil is not None:
        out: dict[int, int] = {}
        try:
            top = psutil.Process(root)
            procs = [top, *top.children(recursive=True)]
        except psutil.Error:
            return out
        for p in procs:
            try:
                out[p.pid] = p.memory_info().rss
            except psutil.Error:
                pass
        return out
    children = _proc_children_map()
    out = {}
    todo = [root]
    while todo:
        pid = todo.pop()
        rss = _proc_rss(pid)
        if rss is not None:
            out[pid] = rss
            todo.extend(children.get(pid, []))
    return out


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process tree every `interval` seconds until stop()."""

    def __init__(self, root: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.root, self.interval = root, interval
        self.samples: list[tuple[float, int]] = []
        self.peak_total = 0
        self.peak_by_pid: dict[int, int] = {}
        self.t0 = time.monotonic()
        self._stop_event = threading.Event()

    def run(self) -> None:
        self.t0 = time.monotonic()
        while not self._stop_event.is_set():
            by_pid = tree_rss(self.root)
            total = sum(by_pid.values())
            self.samples.append((time.monotonic() - self.t0, total))
            if total > self.peak_total:
                self.peak_total = total
            for pid, rss in by_pid.items():
                self.peak_by_pid[pid] = max(rss, self.peak_by_pid.get(pid, 0))
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(5)

    def window_mean(self, start: float, end: float) -> float:
        vals = [v for t, v in self.samples if start <= t <= end]
        return sum(vals) / len(vals) if vals else 0.0

    def processes(self) -> list[dict[str, Any]]:
        return [{"pid": pid, "peak_rss_mb": mb(rss), "cmd": _proc_name(pid)} for pid, rss in sorted(self.peak_by_pid.items())]

    @staticmethod
    def backend() -> str:
        try:
            import psutil  # type: ignore[import-untyped]  # noqa: F401
        except ImportError:
            return "/proc VmRSS"
        return "psutil"


# ---------------------------------------------------------------- CPU used by others (shared machines)

_TICK = os.sysconf("SC_CLK_TCK")


def system_busy_s() -> float:
    """CPU-seconds the whole machine has been busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / _TICK


def own_cpu_s() -> float:
    """CPU-seconds of this process and its reaped children (wrk once it has finished)."""
    import resource

    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def proc_cpu_s(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().decode(errors="replace").rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(rest[11]) + int(rest[12])) / _TICK  # utime, stime


def busy_pct(seconds: float = 2.0) -> float:
    """How busy the machine is right now, in % of all its cores."""
    a, t = system_busy_s(), time.monotonic()
    time.sleep(seconds)
    return 100 * (system_busy_s() - a) / ((time.monotonic() - t) * os.cpu_count()) if os.cpu_count() else 0.0


def wait_quiet(max_wait: float, threshold: float = 15.0) -> float:
    """Wait (at most max_wait s) until the machine is less than threshold % busy; return the last reading."""
    deadline = time.monotonic() + max_wait
    pct = busy_pct()
    while pct >= threshold and time.monotonic() < deadline:
        print(f"machine {pct:.0f} % busy with other work; waiting for it to quieten ...", file=sys.stderr)
        time.sleep(3)
        pct = busy_pct()
    return pct


class CpuMeter:
    """Splits the machine's CPU use over a window into ours (this process, wrk, the server tree) and others'."""

    def __init__(self, server_pids: Any) -> None:
        self.server_pids = server_pids  # callable -> current set of server pids

    def start(self) -> None:
        self.t, self.sys0, self.own0 = time.monotonic(), system_busy_s(), own_cpu_s()
        self.srv0 = {pid: proc_cpu_s(pid) or 0.0 for pid in self.server_pids()}

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self.t
        total = system_busy_s() - self.sys0
        own = own_cpu_s() - self.own0
        server = sum((proc_cpu_s(pid) or 0.0) - self.srv0.get(pid, 0.0) for pid in self.server_pids())
        cores = os.cpu_count() or 1
        others = max(0.0, total - own - server)
        return {"wall_s": round(wall, 1), "machine_busy_pct": round(100 * total / (wall * cores), 1),
                "server_pct": round(100 * server / (wall * cores), 1), "generator_pct": round(100 * own / (wall * cores), 1),
                "others_pct": round(100 * others / (wall * cores), 1)}


def mb(n: float) -> float:
    return round(n / 1_048_576, 1)
