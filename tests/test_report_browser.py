"""The HTML report (`ddx harness DIR --html FILE`) opened in a real headless Chromium, as an author opens it.

Checked: every chart is there (decoded SVG from a data: URL, laid out at a real size, painted with the marks it
plots), the console holds no error and no exception, and the page requests nothing but itself and its data: URLs.
A deliberately broken page shows that each of these checks can fail.

Needs Debian's Chromium (`apt-get install chromium`; DDX_CHROMIUM names another binary) and websocket-client
(the test extra). Without them this test is skipped locally, and fails when CI=true.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib
import pytest
from click.testing import CliRunner

from plugin.authoring.charts import COLOURS, HEAT_MAP
from plugin.cli import main
from tests import browser
from tests.conftest import SAMPLES

CHARTS = {"confusion-groups", "confusion-diagnoses", "groups", "calibration", "clues"}


def _hex(rgba: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(c * 255):02x}" for c in rgba[:3])


# A mark each chart must show once painted: the fill of its bars or of its fullest heat-map cells.
MARKS = {
    "confusion-groups": _hex(matplotlib.colormaps[HEAT_MAP](1.0)),
    "confusion-diagnoses": _hex(matplotlib.colormaps[HEAT_MAP](1.0)),
    "groups": COLOURS["top1"],
    "calibration": COLOURS["stated"],
    "clues": COLOURS["fired"],
}


def _require_browser() -> str:
    problems = []
    exe = browser.executable()
    if exe is None:
        problems.append("no Chromium (apt-get install chromium, or set DDX_CHROMIUM)")
    try:
        import websocket  # noqa: F401
    except ImportError:
        problems.append("websocket-client is not installed (pip install -e '.[test]')")
    if problems:
        reason = "headless browser unavailable: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " [CI=true: not skipping]", pytrace=False)
        pytest.skip(reason)
    return exe  # type: ignore[return-value]


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[browser.Chromium]:
    exe = _require_browser()
    chrome = browser.Chromium(exe, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield chrome
    finally:
        chrome.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report.html"
    run = CliRunner().invoke(main, ["harness", str(SAMPLES), "--html", str(out)])
    assert run.exit_code == 0, run.output
    return out


def problems_of(page: browser.Page, expected_charts: set[str]) -> list[str]:
    """Everything wrong with a page that should show these charts; empty when all is well."""
    found = {c["name"] for c in page.charts}
    problems = [f"chart missing: {name}" for name in sorted(expected_charts - found)]
    for c in page.charts:
        if not c["decoded"] or c["naturalWidth"] < 100 or c["naturalHeight"] < 100:
            problems.append(f"chart {c['name']}: image not decoded ({c['naturalWidth']}x{c['naturalHeight']})")
        elif not c["src"].startswith("data:image/svg+xml;base64,"):
            problems.append(f"chart {c['name']}: not an embedded SVG ({c['src']})")
        elif c["width"] < 200 or c["height"] < 100:
            problems.append(f"chart {c['name']}: laid out too small ({c['width']}x{c['height']})")
        shot = page.screenshots.get(c["name"])
        if shot is None or browser.ink(shot) < 0.02:
            problems.append(f"chart {c['name']}: nothing painted")
        elif c["name"] in MARKS and browser.pixels_of(shot, MARKS[c["name"]]) < 40:
            problems.append(f"chart {c['name']}: its plotted marks ({MARKS[c['name']]}) are not on screen")
    problems += [f"console: {e}" for e in page.errors]
    problems += [f"requested from elsewhere: {u}" for u in page.requests if not u.startswith(("file:", "data:"))]
    problems += [f"points outside the file: {u}" for u in page.outside]
    if page.scripts:
        problems.append(f"{page.scripts} script element(s)")
    if page.broken_images:
        problems.append(f"{page.broken_images} image(s) that do not decode")
    return problems


def test_report_shows_every_chart_with_a_clean_console(chromium: browser.Chromium, report: Path) -> None:
    page = chromium.inspect(report.as_uri())
    assert problems_of(page, CHARTS) == []
    assert len(page.charts) >= 3 and {c["name"] for c in page.charts} == CHARTS
    assert page.title.startswith("rad-ddx harness report")
    assert report.as_uri() in page.requests  # the requests were recorded: the page itself, and nothing else


BROKEN = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>broken</title>
<link rel="stylesheet" href="http://127.0.0.1:9/style.css"></head><body>
<figure class="chart" data-chart="groups"><img src="data:image/svg+xml;base64,bm90IGFuIFNWRw=="><figcaption>x</figcaption></figure>
<figure class="chart" data-chart="clues"><img src="data:image/svg+xml;base64,{blank}"><figcaption>blank</figcaption></figure>
<script>console.error("deliberate"); undefined_function();</script></body></html>"""
BLANK_SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="600" height="300"><rect width="600" height="300" fill="white"/></svg>'


def test_the_checks_catch_a_broken_page(chromium: browser.Chromium, tmp_path: Path) -> None:
    import base64

    page_file = tmp_path / "broken.html"
    page_file.write_text(BROKEN.replace("{blank}", base64.b64encode(BLANK_SVG.encode()).decode()), encoding="utf-8")
    problems = "\n".join(problems_of(chromium.inspect(page_file.as_uri()), CHARTS))
    for expected in ("chart missing: calibration", "chart groups: image not decoded", "chart clues: nothing painted",
                     "console: console.error: deliberate", "undefined_function", "requested from elsewhere: http://127.0.0.1:9/style.css",
                     "points outside the file: http://127.0.0.1:9/style.css", "1 script element(s)",
                     "1 image(s) that do not decode"):
        assert expected in problems, f"{expected!r} not reported; got:\n{problems}"
