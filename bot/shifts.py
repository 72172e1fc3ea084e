"""Mediator shift hours: are mediators on shift now, and when does the next shift start?"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import DAYS, MediatorSettings


def _hm(value: str) -> time:
    h, m = value.split(":")
    return time(int(h), int(m))


def shift_status(m: MediatorSettings, now: datetime) -> tuple[bool, datetime | None]:
    """(on shift now, start of the next shift in the mediators' time zone, or None when on shift)."""
    tz = ZoneInfo(m.timezone)
    local = now.astimezone(tz)
    start, end = _hm(m.shift_start), _hm(m.shift_end)
    days = {DAYS.index(d) for d in m.shift_days}
    if local.weekday() in days and start <= local.time() < end:
        return True, None
    for ahead in range(0, 8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in days:
            continue
        candidate = datetime.combine(day, start, tzinfo=tz)
        if candidate > local:
            return False, candidate
    return False, None
