"""Charts of a report as SVG, drawn on the server by matplotlib (already a dependency of the NLU's plots).

Each chart is drawn from the report's JSON (bot.reports.build), after suppression: a count shown as "<5"
is never drawn as a bar or a point, so a chart can tell no more than the table beside it. The SVG has
no script and keeps its text as text (small, sharp on a phone, readable by a screen reader's "find").
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from matplotlib import rcParams
from matplotlib.figure import Figure

rcParams["svg.fonttype"] = "none"  # text stays text
rcParams["svg.hashsalt"] = "sigurno-reports"  # the same report draws the same file

COLOURS = {"web": "#0b4f5c", "telegram": "#2a9df4", "viber": "#7360f2", "messenger": "#e0457b"}
JOB_COLOURS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828"}
INK = "#1d2b2f"
TOP = 10  # bars in a ranked chart
NOTE = "counts below 5 are not drawn"
# matplotlib is not made for drawing in several threads at once: one drawing thread for the process.
_DRAWER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sigurno-charts")


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else math.nan


def _figure(height: float = 3.2) -> Figure:
    fig = Figure(figsize=(4.8, height), dpi=100, layout="constrained")  # readable at a phone's width
    return fig


def _svg(fig: Figure) -> bytes:
    out = io.BytesIO()
    fig.savefig(out, format="svg", metadata={"Date": None, "Creator": None})
    return out.getvalue()


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(colors=INK, labelsize=10)
    ax.grid(axis="both", alpha=0.25)


def _empty(fig: Figure) -> None:
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.text(0.5, 0.5, "nothing to draw (" + NOTE + ")", ha="center", va="center", color=INK, fontsize=11)


def people(report: dict[str, Any]) -> bytes:
    """People reached per period, one line per channel."""
    fig = _figure()
    periods = sorted({s["period"] for s in report["series"]})
    channels = sorted({s["channel"] for s in report["series"]})
    values = {(s["period"], s["channel"]): _num(s["people"]) for s in report["series"]}
    if not any(not math.isnan(v) for v in values.values()):
        _empty(fig)
        return _svg(fig)
    ax = fig.add_subplot()
    xs = range(len(periods))
    for ch in channels:
        ys = [values.get((p, ch), math.nan) for p in periods]
        ax.plot(xs, ys, marker="o", linewidth=2, label=ch, color=COLOURS.get(ch))
    ax.set_xticks(list(xs), [p[5:] if len(periods) > 1 else p for p in periods], rotation=45, ha="right")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=9, frameon=False)
    ax.set_title(NOTE, fontsize=9, color="#5b6b70", loc="left")
    _style(ax)
    return _svg(fig)


def _bars(items: list[tuple[str, Any]], colours: list[str] | None = None, horizontal: bool = True) -> bytes:
    drawn = [(k, _num(v)) for k, v in items if not math.isnan(_num(v))]
    fig = _figure(max(2.4, 0.34 * len(drawn) + 1.0) if horizontal else 3.2)
    if not drawn:
        _empty(fig)
        return _svg(fig)
    ax = fig.add_subplot()
    names, values = [k for k, _ in drawn], [v for _, v in drawn]
    colour = colours if colours is not None else [COLOURS["web"]] * len(drawn)
    if horizontal:
        ax.barh(names[::-1], values[::-1], color=colour[::-1], height=0.6)
        for y, v in enumerate(values[::-1]):
            ax.text(v, y, f" {int(v)}", va="center", fontsize=9, color=INK)
    else:
        ax.bar(names, values, color=colour, width=0.6)
        for x, v in enumerate(values):
            ax.text(x, v, f"{int(v)}", ha="center", va="bottom", fontsize=9, color=INK)
    ax.set_title(NOTE, fontsize=9, color="#5b6b70", loc="left")
    _style(ax)
    return _svg(fig)


def topics(report: dict[str, Any]) -> bytes:
    return _bars([(i["intent"], i["count"]) for i in report["intents"]][:TOP])


def countries(report: dict[str, Any]) -> bytes:
    return _bars([(c["country"], c["count"]) for c in report["countries"]][:TOP])


def job_checks(report: dict[str, Any]) -> bytes:
    levels = [lv for lv in ("green", "amber", "red") if not math.isnan(_num(report["job_checks"][lv]))]
    items = [(lv, report["job_checks"][lv]) for lv in levels]
    return _bars(items, [JOB_COLOURS[lv] for lv in levels], horizontal=False)


def cases(report: dict[str, Any]) -> bytes:
    c = report["cases"]
    moves = [("opened", c["opened"]), ("claimed", c["claimed"]), ("released", c["released"]), ("closed", c["closed"])]
    outcomes = list(c["outcomes"].items())
    return _bars(moves + [(f"closed: {k}", v) for k, v in outcomes])


def claim_time(report: dict[str, Any]) -> bytes:
    return _bars([(f"≤ {b['minutes']} min", b["count"]) for b in report["cases"]["claim_minutes"]])


def fallback_rate(report: dict[str, Any]) -> bytes:
    """Share of messages not understood, per period (drawn where both counts are 5 or more)."""
    fig = _figure()
    rows = [(p["period"], p["fallback_rate"]) for p in report["periods"] if p["fallback_rate"] is not None]
    if not rows:
        _empty(fig)
        return _svg(fig)
    ax = fig.add_subplot()
    xs = range(len(rows))
    ax.plot(xs, [r * 100 for _, r in rows], marker="o", linewidth=2, color=COLOURS["web"])
    ax.set_xticks(list(xs), [p[5:] for p, _ in rows], rotation=45, ha="right")
    ax.set_ylim(0, 100)
    ax.set_ylabel("%", color=INK)
    ax.set_title(NOTE, fontsize=9, color="#5b6b70", loc="left")
    _style(ax)
    return _svg(fig)


CHARTS: dict[str, Callable[[dict[str, Any]], bytes]] = {
    "people": people,
    "topics": topics,
    "countries": countries,
    "job-checks": job_checks,
    "cases": cases,
    "claim-time": claim_time,
    "fallback-rate": fallback_rate,
}


async def draw(name: str, report: dict[str, Any]) -> bytes:
    """The chart `name` (one of CHARTS) of the report, drawn in the drawing thread."""
    return await asyncio.get_running_loop().run_in_executor(_DRAWER, CHARTS[name], report)
