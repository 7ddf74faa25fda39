"""The report's pictures, drawn by matplotlib (no pyplot, no display) and kept as static SVG text.

Text is drawn as paths, so a chart looks the same on any machine, with no font to fetch; ids are salted with a
fixed string and no date is written, so the same run draws the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from plugin.authoring.analysis import ClueStat, Confusion

RC: Any = {  # matplotlib types its rc keys as a Literal of every name: plain dict here
    "svg.fonttype": "path", "svg.hashsalt": "rad-ddx-harness", "font.size": 9, "axes.titlesize": 11,
    "axes.spines.top": False, "axes.spines.right": False, "axes.titleweight": "bold",
}
COLOURS = {"top1": "#1f5f99", "top3": "#8fb8de", "fired": "#c9d3dd", "helped": "#2e8b57", "hurt": "#c0392b",
           "other": "#e69f00", "stated": "#c6dbef", "observed": "#1f3b57"}
HEAT_MAP = "Blues"  # colour map of the confusion heat maps: white (no sample) to dark blue (every sample of the row)


@contextmanager
def _figure(width: float, height: float) -> Iterator[Figure]:
    with matplotlib.rc_context(RC):
        yield Figure(figsize=(width, height), layout="constrained")


def _svg(fig: Figure) -> str:
    with matplotlib.rc_context(RC):
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    return out.getvalue()


def heat_map(conf: Confusion, title: str, axis: str) -> str:
    """Rows = expected, columns = ranked first; colour = share of the row's samples, number = samples."""
    n_rows, n_cols = len(conf.rows), len(conf.columns)
    with _figure(max(5.0, 1.6 + 0.34 * n_cols), max(3.0, 1.6 + 0.3 * n_rows)) as fig:
        ax = fig.add_subplot()
        shares = [[n / (sum(row) or 1) for n in row] for row in conf.counts]
        image = ax.pcolormesh(shares, cmap=HEAT_MAP, vmin=0, vmax=1, edgecolors="#f3f5f7", linewidth=0.5)  # vector cells
        for i, row in enumerate(conf.counts):
            for j, n in enumerate(row):
                if n:
                    wrong = conf.rows[i] != conf.columns[j]
                    ax.text(j + 0.5, i + 0.5, str(n), ha="center", va="center", fontsize=8, fontweight="bold" if wrong else "normal",
                            color="white" if shares[i][j] > 0.6 else ("#c0392b" if wrong else "black"))
        ax.set_xticks([j + 0.5 for j in range(n_cols)], conf.columns, rotation=60, ha="right", rotation_mode="anchor")
        ax.set_yticks([i + 0.5 for i in range(n_rows)], conf.rows)
        ax.invert_yaxis()
        ax.tick_params(length=0)
        ax.set_xlabel(f"{axis} ranked first")
        ax.set_ylabel(f"expected {axis}")
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.8, label="share of the row's samples")
        return _svg(fig)


def group_bars(groups: list[dict[str, Any]]) -> str:
    """Top-1 and top-3 (share of samples) per group of the expected diagnosis, samples per group in the label."""
    with _figure(7.0, max(2.5, 1.0 + 0.42 * len(groups))) as fig:
        ax = fig.add_subplot()
        ys = range(len(groups))
        ax.barh([y + 0.2 for y in ys], [g["top3"] * 100 for g in groups], height=0.38, color=COLOURS["top3"], label="top-3")
        ax.barh([y - 0.2 for y in ys], [g["top1"] * 100 for g in groups], height=0.38, color=COLOURS["top1"], label="top-1")
        for y, g in zip(ys, groups, strict=True):
            ax.text(g["top1"] * 100 + 1, y - 0.2, f"{g['top1']:.0%}", va="center", fontsize=7)
            ax.text(g["top3"] * 100 + 1, y + 0.2, f"{g['top3']:.0%}", va="center", fontsize=7)
        ax.set_yticks(list(ys), [f"{g['group']} (n={g['reports']})" for g in groups])
        ax.invert_yaxis()
        ax.set_xlim(0, 112)
        ax.set_xlabel("% of the group's samples")
        ax.set_title("Top-1 and top-3 per group")
        fig.legend(loc="outside lower center", ncols=2, frameon=False)
        return _svg(fig)


def calibration(bands: list[dict[str, Any]], several_packs: bool) -> str:
    """Per band: the probability range it states (shaded) against the observed share with its 95 % interval."""
    with _figure(7.0, 3.8) as fig:
        ax = fig.add_subplot()
        xs = range(len(bands))
        for x, b in zip(xs, bands, strict=True):
            if b["stated"]:
                low, high = b["stated"]
                ax.bar(x, max(high - low, 0.004), bottom=low, width=0.6, color=COLOURS["stated"],
                       label="stated range" if x == 0 else None)
            if b["observed"] is not None:
                low, high = b["interval95"]
                ax.errorbar(x, b["observed"], yerr=[[b["observed"] - low], [high - b["observed"]]], fmt="o", capsize=4,
                            color=COLOURS["observed"], label="observed (95 % interval)" if x == 0 else None)
                ax.annotate(f"{b['expected']}/{b['shown']}", (x, b["observed"]), xytext=(12, 0), textcoords="offset points",
                            va="center", fontsize=8)
            else:
                ax.text(x, 0.02, "never shown", ha="center", fontsize=8)
        ax.set_xticks(list(xs), [(f"{b['pack']}\n" if several_packs else "") + b["display"] for b in bands])
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("P(the diagnosis shown is the expected one)")
        ax.set_title("Likelihood bands: stated vs observed")
        handles, labels = ax.get_legend_handles_labels()
        if handles:
            ax.legend(handles, labels, loc="upper right", frameon=False)
        return _svg(fig)


def clue_bars(stats: list[ClueStat], several_packs: bool) -> str:
    """Every clue that fired: samples it fired in, and those it decided (helped / hurt / neither)."""
    rows = sorted((s for s in stats if s.fired), key=lambda s: (-s.decided, -s.fired, s.clue))
    with _figure(8.0, max(2.5, 1.2 + 0.17 * len(rows))) as fig:
        ax = fig.add_subplot()
        ys = list(range(len(rows)))
        ax.barh(ys, [s.fired for s in rows], height=0.8, color=COLOURS["fired"], label="fired")
        left = [0] * len(rows)
        for part in ("helped", "hurt", "other"):
            widths = [getattr(s, part) if part != "other" else s.decided - s.helped - s.hurt for s in rows]
            ax.barh(ys, widths, left=left, height=0.45, color=COLOURS[part], label=f"decided: {part}" if part != "other" else
                    "decided: neither")
            left = [a + b for a, b in zip(left, widths, strict=True)]
        ax.set_yticks(ys, [(f"{s.pack}: " if several_packs else "") + s.clue for s in rows], fontsize=7)
        if rows:
            ax.set_ylim(len(rows) - 0.5, -0.5)
        else:
            ax.text(0.5, 0.5, "no clue fired in any sample", ha="center", va="center", transform=ax.transAxes)
        ax.set_xlabel("samples")
        ax.set_title("How often each clue fired, and how often it decided the top diagnosis")
        fig.legend(loc="outside lower center", ncols=4, frameon=False)
        ax.xaxis.set_tick_params(labeltop=True)
        return _svg(fig)
