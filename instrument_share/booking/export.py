"""The booking history as a table (API.md: `GET /api/v1/bookings?format=
csv|xlsx`; the history page's downloads): every booking the caller may see
that the filters select, headed in the reader's language, or by the
machine names with `headers=codes`. Money as numbers in yuan, times in the
platform's zone."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..spreadsheets import table_response
from ..timeutil import to_platform
from .forms import BOOKING_STATUS_LABELS, SERVICE_MODE_LABELS
from .models import Booking

MAX_ROWS = 20_000  # one file (a few seconds to make); a longer history is exported a period at a time
COLUMNS = (
    ("id", _l("Booking no.")),
    ("instrument", _l("Instrument")),
    ("institution", _l("Institution")),
    ("booked_by", _l("Booked by")),
    ("firm", _l("Firm")),
    ("start", _l("Start")),
    ("end", _l("End")),
    ("status", _l("Status")),
    ("purpose", _l("Purpose")),
    ("cost", _l("Fee (CNY)")),
    ("voucher_amount", _l("Paid by voucher (CNY)")),
    ("firm_pays", _l("Paid by the firm (CNY)")),
    ("used_start", _l("Used from")),
    ("used_end", _l("Used until")),
    ("service_mode", _l("Service mode")),
)


def _time(value) -> str:
    return to_platform(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _row(booking: Booking, codes: bool) -> dict:
    instrument = booking.instrument
    return {
        "id": booking.id, "instrument": instrument.name, "institution": instrument.institution.name,
        "booked_by": booking.user.name, "firm": booking.firm.name if booking.firm else "",
        "start": _time(booking.start), "end": _time(booking.end),
        "status": booking.status if codes else str(BOOKING_STATUS_LABELS.get(booking.status, booking.status)),
        "purpose": booking.purpose, "cost": booking.cost, "voucher_amount": booking.voucher_amount,
        "firm_pays": booking.firm_pays, "used_start": _time(booking.used_start), "used_end": _time(booking.used_end),
        "service_mode": (booking.service_mode or "") if codes
        else str(SERVICE_MODE_LABELS.get(booking.service_mode, booking.service_mode or "")),
    }


def history_file(bookings: list[Booking], fmt: str, codes: bool = False):
    """The response: a CSV (UTF-8 with a BOM) or an XLSX workbook."""
    headings = [name if codes else str(label) for name, label in COLUMNS]
    names = [name for name, _label in COLUMNS]
    rows = [dict(zip(headings, (row[name] for name in names), strict=True))
            for row in (_row(booking, codes) for booking in bookings)]
    return table_response("bookings", headings, rows, fmt)
