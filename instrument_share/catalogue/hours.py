"""An instrument's weekly opening hours: part of its record, changed by its
managers and written to its audit trail."""
from __future__ import annotations

import re

from ..accounts.models import User
from ..database import lock_row
from ..errors import N_, PermissionDenied, ValidationFailed
from ..extensions import db
from . import audit
from .models import Instrument, OpeningHours
from .policy import can_manage_instrument

HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")



def parse_hhmm(text: str) -> int | None:
    match = HHMM.match(text or "")
    if not match:
        return None
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    return minutes if minutes <= 1440 else None


def set_opening_hours(instrument: Instrument, user: User, rows: list[dict]) -> list[OpeningHours]:
    """Replace the weekly hours. Touching intervals of a day are merged;
    overlapping ones are refused. Existing bookings are left as they are."""
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may change its schedule."))
    errors: dict[str, list[str]] = {}
    by_day: dict[int, list[tuple[int, int]]] = {}
    for index, row in enumerate(rows):
        weekday = row.get("weekday")
        opens, closes = parse_hhmm(row.get("open")), parse_hhmm(row.get("close"))
        if not isinstance(weekday, int) or not 0 <= weekday <= 6:
            errors[f"{index}.weekday"] = [N_("A weekday from 0 (Monday) to 6 (Sunday).")]
        elif opens is None or closes is None or closes <= opens:
            errors[f"{index}.close"] = [N_("Times as HH:MM, closing after opening.")]
        else:
            by_day.setdefault(weekday, []).append((opens, closes))
    merged: list[tuple[int, int, int]] = []
    for weekday, intervals in sorted(by_day.items()):
        intervals.sort()
        day: list[list[int]] = []
        for opens, closes in intervals:
            if day and opens < day[-1][1]:
                errors[f"weekday {weekday}"] = [N_("Opening intervals of one day overlap.")]
            elif day and opens == day[-1][1]:
                day[-1][1] = closes
            else:
                day.append([opens, closes])
        merged += [(weekday, o, c) for o, c in day]
    if errors:
        raise ValidationFailed(N_("The opening hours are not valid."), errors)
    lock_row("instruments", instrument.id)
    db.session.refresh(instrument, ["opening_hours"])
    before = audit.hours_snapshot(instrument)
    instrument.opening_hours = [
        OpeningHours(weekday=d, open_minute=o, close_minute=c) for d, o, c in merged
    ]
    after = audit.hours_snapshot(instrument)
    if after != before:
        audit.record(instrument, user, "opening_hours_changed", {"opening_hours": [before, after]})
    db.session.flush()
    return instrument.opening_hours
