"""A real headless Chromium, driven over the Chrome DevTools Protocol (websocket-client), for the HTML report test.

Debian's Chromium (/usr/bin/chromium), never a browser download. Each use gets a fresh profile directory.
`inspect(url)` opens a page and answers what a person would see: the charts (decoded, painted, how big), every
request the page made, and every console error or uncaught exception.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,900")
START_TIMEOUT_S = 60  # generous bounds for a shared 2-core machine; never asserted on
REPLY_TIMEOUT_S = 120


def executable() -> str | None:
    """DDX_CHROMIUM if set (an empty or missing path means: none), else chromium on PATH."""
    chosen = os.environ.get("DDX_CHROMIUM")
    if chosen is not None:
        return chosen if chosen and Path(chosen).is_file() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


# What the page shows: every chart figure, its image decoded or not, its place on the page; and anything that
# points outside the document.
COLLECT = """(async () => {
  const charts = [];
  for (const fig of document.querySelectorAll('figure.chart')) {
    const img = fig.querySelector('img');
    let decoded = false;
    if (img) { try { await img.decode(); decoded = true; } catch (e) { decoded = false; } }
    const box = (img || fig).getBoundingClientRect();
    charts.push({name: fig.dataset.chart, decoded, src: img ? img.getAttribute('src').slice(0, 40) : null,
                 naturalWidth: img ? img.naturalWidth : 0, naturalHeight: img ? img.naturalHeight : 0,
                 x: box.left + window.scrollX, y: box.top + window.scrollY, width: box.width, height: box.height,
                 caption: (fig.querySelector('figcaption') || {}).textContent || ''});
  }
  const refs = [...document.querySelectorAll('[src],[href]')].map(e => e.getAttribute('src') || e.getAttribute('href'));
  let broken = 0;
  for (const img of document.images) { try { await img.decode(); } catch (e) { broken += 1; } }
  return {charts, scripts: document.scripts.length, title: document.title, broken_images: broken,
          outside: refs.filter(u => !u.startsWith('data:') && !u.startsWith('#'))};
})()"""


@dataclass
class Page:
    charts: list[dict[str, Any]]
    scripts: int
    title: str
    broken_images: int
    outside: list[str]
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    screenshots: dict[str, bytes] = field(default_factory=dict)  # chart name -> PNG of its box as painted


class Chromium:
    def __init__(self, exe: str, profile: Path) -> None:
        import websocket

        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file, deadline = profile / "DevToolsActivePort", time.monotonic() + START_TIMEOUT_S
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"Chromium did not start (exit code {self.proc.returncode})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only, never a proxy
        targets = json.load(opener.open(f"http://127.0.0.1:{port}/json/list", timeout=START_TIMEOUT_S))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=REPLY_TIMEOUT_S, suppress_origin=True,
                                              http_no_proxy=["127.0.0.1"])
        self.next_id, self.events = 0, []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]
            self.events.append(message)

    def wait_loaded(self, url: str) -> None:
        """Until the document at `url` has loaded (asked, not waited for as an event: none can be missed)."""
        deadline, state = time.monotonic() + REPLY_TIMEOUT_S, None
        while time.monotonic() < deadline:
            try:
                state = self.send("Runtime.evaluate", expression="[document.readyState, location.href]", returnByValue=True)
            except RuntimeError:  # the old document went away mid-question: ask again
                continue
            if state["result"].get("value") == ["complete", url]:
                return
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not load: {state}")

    def inspect(self, url: str) -> Page:
        self.events = []
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Page.navigate", url=url)
        self.wait_loaded(url)
        found = self.send("Runtime.evaluate", expression=COLLECT, awaitPromise=True, returnByValue=True)["result"]["value"]
        page = Page(**found)
        for chart in page.charts:
            if chart["width"] >= 1 and chart["height"] >= 1:
                clip = {k: chart[k] for k in ("x", "y", "width", "height")} | {"scale": 1}
                shot = self.send("Page.captureScreenshot", format="png", clip=clip, captureBeyondViewport=True)
                page.screenshots[chart["name"]] = base64.b64decode(shot["data"])
        for e in self.events:
            method, p = e.get("method"), e.get("params", {})
            if method == "Network.requestWillBeSent":
                page.requests.append(p["request"]["url"])
            elif method == "Runtime.exceptionThrown":
                page.errors.append("exception: " + p["exceptionDetails"].get("text", "") + " " +
                                   str(p["exceptionDetails"].get("exception", {}).get("description", "")))
            elif method == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
                page.errors.append(f"console.{p['type']}: " + " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                page.errors.append(f"log ({p['entry']['source']}): {p['entry']['text']} {p['entry'].get('url', '')}".rstrip())
        return page

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def pixels_of(png: bytes, colour: str, tolerance: int = 3) -> int:
    """How many pixels of a PNG have this colour ('#rrggbb'), within a small tolerance per channel."""
    from PIL import Image

    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(count for count, rgb in image.getcolors(maxcolors=1 << 24) or []
               if all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True)))


def ink(png: bytes) -> float:
    """Share of the pixels that are not (nearly) white: how much was actually painted."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    histogram = image.histogram()
    return sum(histogram[:240]) / max(1, sum(histogram))
