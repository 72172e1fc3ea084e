"""The report: figures for a period, grouped by day, week or month, with every count below 5 as "<5".

`build_report` reads the counts (bot.storage.reports_repo) and returns the JSON of
GET /api/console/reports; `csv_rows` is the tidy export (date, channel, metric, dimension, value) of the
same figures. Counts are suppressed here, once, for the page, the API, the CLI and the charts alike.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.storage.report_tally import MINUTE_BUCKETS, periods
from bot.storage.reports_repo import CountRow, Group, ReportsRepo

GROUPS: tuple[Group, ...] = ("day", "week", "month")
SMALL = 5  # counts below this are never shown
SUPPRESSED = "<5"
MAX_DAYS = 1100  # about three years in one report
OUTCOMES = (
    "referred_hotline",
    "referred_police",
    "referred_embassy",
    "referred_ngo",
    "advice_given",
    "no_contact",
    "false_alarm",
    "other",
)
CSV_HEADER = ("date", "channel", "metric", "dimension", "value")

Shown = int | str


class ReportError(ValueError):
    """A bad period or grouping (the message says which)."""


@dataclass(frozen=True)
class Period:
    first: str
    last: str
    group: Group


def shown(n: int) -> Shown:
    """A count as it may be shown: below 5 only as "<5"."""
    return SUPPRESSED if n < SMALL else n


def parse_period(first: str | None, last: str | None, group: str | None) -> Period:
    """Check from / to (YYYY-MM-DD, from <= to, at most MAX_DAYS days) and the grouping."""
    if not first or not last:
        raise ReportError("'from' and 'to' are required (YYYY-MM-DD)")
    try:
        a, b = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise ReportError("'from' and 'to' must be dates written YYYY-MM-DD") from None
    if len(first) != 10 or len(last) != 10:
        raise ReportError("'from' and 'to' must be dates written YYYY-MM-DD")
    if a > b:
        raise ReportError("'from' must not be after 'to'")
    if (b - a).days + 1 > MAX_DAYS:
        raise ReportError(f"a report covers at most {MAX_DAYS} days")
    g = group or "day"
    if g not in GROUPS:
        raise ReportError(f"'group' must be one of {', '.join(GROUPS)}")
    return Period(a.isoformat(), b.isoformat(), g)


def period_of(day: str, group: Group) -> str:
    if group == "day":
        return day
    week, month = periods(day)
    return week if group == "week" else month


def _percentile(buckets: Counter[str], q: float) -> int | None:
    """The bucket bound (minutes) at or under which q of the cases fall; None with fewer than 5 cases or
    when it lies beyond the last bound."""
    total = sum(buckets.values())
    if total < SMALL:
        return None
    seen = 0
    for bound in MINUTE_BUCKETS:
        seen += buckets.get(str(bound), 0)
        if seen >= q * total:
            return bound
    return None


def _rate(part: int, whole: int) -> float | None:
    """part / whole, only when both are 5 or more (a rate of small counts tells the counts)."""
    return round(part / whole, 4) if part >= SMALL and whole >= SMALL else None


def _ranked(counter: Counter[str], name: str) -> list[dict[str, Shown]]:
    """Largest first; the suppressed ones after, by name (their order would tell their sizes)."""
    big = sorted(((k, v) for k, v in counter.items() if v >= SMALL), key=lambda kv: (-kv[1], kv[0]))
    small = sorted(k for k, v in counter.items() if 0 < v < SMALL)
    ranked: list[dict[str, Shown]] = [{name: k, "count": v} for k, v in big]
    return ranked + [{name: k, "count": SUPPRESSED} for k in small]


async def build_report(repo: ReportsRepo, period: Period) -> dict[str, Any]:
    rows = await repo.counts(period.first, period.last)
    people = await repo.people(period.first, period.last, period.group)
    people_total = await repo.people_total(period.first, period.last)

    by: dict[str, Counter[str]] = defaultdict(Counter)  # metric -> dimension -> count
    for r in rows:
        by[r.metric][r.dimension] += r.value
    total = {m: sum(c.values()) for m, c in by.items()}

    series: dict[tuple[str, str], dict[str, int]] = defaultdict(Counter)
    for p, channel, n in people:
        series[(p, channel)]["people"] += n
    for r in rows:
        if r.metric in ("messages", "new_people", "fallback"):
            series[(period_of(r.day, period.group), r.channel)][r.metric] += r.value

    claims, closes = by["claim_minutes"], by["close_minutes"]
    per_period: dict[str, Counter[str]] = defaultdict(Counter)  # over the channels (a person is per channel)
    for (p, _), v in series.items():
        per_period[p].update(v)
    return {
        "from": period.first,
        "to": period.last,
        "group": period.group,
        "totals": {
            "people": shown(sum(people_total.values())),
            "new_people": shown(total.get("new_people", 0)),
            "messages": shown(total.get("messages", 0)),
            "cases_opened": shown(total.get("case_opened", 0)),
            "cases_closed": shown(total.get("case_closed", 0)),
            "urgent": shown(by["case_opened"].get("urgent", 0)),
            "fallbacks": shown(total.get("fallback", 0)),
        },
        "series": [
            {
                "period": p,
                "channel": channel,
                "people": shown(v.get("people", 0)),
                "messages": shown(v.get("messages", 0)),
                "new_people": shown(v.get("new_people", 0)),
                "fallbacks": shown(v.get("fallback", 0)),
            }
            for (p, channel), v in sorted(series.items())
        ],
        "periods": [
            {
                "period": p,
                "people": shown(v["people"]),
                "messages": shown(v["messages"]),
                "fallbacks": shown(v["fallback"]),
                "fallback_rate": _rate(v["fallback"], v["messages"]),
            }
            for p, v in sorted(per_period.items())
        ],
        "intents": _ranked(by["intent"], "intent"),
        "countries": _ranked(by["country"], "country"),
        "languages": _ranked(by["language"], "language"),
        "signals": _ranked(by["signal"], "signal"),
        "job_checks": {level: shown(by["job_check"].get(level, 0)) for level in ("green", "amber", "red")},
        "risk": {level: shown(by["risk"].get(level, 0)) for level in ("none", "elevated", "urgent")},
        "safety_questions": shown(total.get("safety_question", 0)),
        "send_failures": shown(total.get("send_failed", 0)),
        "cases": {
            "opened": shown(total.get("case_opened", 0)),
            "by_priority": {p: shown(by["case_opened"].get(p, 0)) for p in ("urgent", "high", "normal")},
            "claimed": shown(total.get("case_claimed", 0)),
            "closed": shown(total.get("case_closed", 0)),
            "released": shown(total.get("case_released", 0)),
            "outcomes": {o: shown(by["case_closed"].get(o, 0)) for o in OUTCOMES},
            "claim_minutes": [
                {"minutes": k, "count": shown(n)}
                for k, n in sorted(
                    claims.items(), key=lambda kv: (kv[0] == "more", int(kv[0]) if kv[0].isdigit() else 0)
                )
            ],
            "claim_minutes_p50": _percentile(claims, 0.5),
            "claim_minutes_p90": _percentile(claims, 0.9),
            "close_minutes_p50": _percentile(closes, 0.5),
            "close_minutes_p90": _percentile(closes, 0.9),
        },
    }


async def csv_rows(repo: ReportsRepo, period: Period) -> list[tuple[str, str, str, str, Shown]]:
    """The tidy table: one row per (period, channel, metric, dimension), people included; values suppressed."""
    summed: Counter[tuple[str, str, str, str]] = Counter()
    for r in await repo.counts(period.first, period.last):
        summed[(period_of(r.day, period.group), r.channel, r.metric, r.dimension)] += r.value
    for p, channel, n in await repo.people(period.first, period.last, period.group):
        summed[(p, channel, "people", "")] += n
    return [(*key, shown(n)) for key, n in sorted(summed.items())]


def to_csv(rows: list[tuple[str, str, str, str, Shown]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return out.getvalue()


__all__ = ["CountRow", "Period", "ReportError", "build_report", "csv_rows", "parse_period", "shown", "to_csv"]
