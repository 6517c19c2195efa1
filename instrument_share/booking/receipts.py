"""Receipts (服务结算单) and monthly statements as PDF (API.md: `GET
/api/v1/bookings/{id}/receipt.pdf`; the firm's statement page).

A receipt is of a completed booking: platform, institution, instrument,
firm and USCC, the times booked and used, the fee, the voucher's part and
the firm's. A statement lists a firm's completed bookings of one month with
their voucher parts and totals. Both are drawn with fpdf2 in an open CJK
font the install step provides (Noto Sans CJK, `PDF_FONT`), embedded as a
subset, so that Chinese shows on any reader; the same figures are on the
printable pages. Labels are in the reader's language.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from fpdf import FPDF
from fpdf.fonts import FontFace
from sqlalchemy.orm import joinedload

from .. import formats
from ..accounts.models import Firm, User
from ..catalogue.models import Instrument
from ..errors import N_, Conflict, NotFound, PermissionDenied, Unavailable
from ..extensions import db
from ..formats import hours as format_hours
from ..formats import money
from ..timeutil import platform_zone, utcnow
from .forms import SERVICE_MODE_LABELS
from .models import Booking, BookingStatus
from .policy import can_get_statement, can_view_booking

ZERO = Decimal("0.00")


def receipt_booking(booking_id: int, user: User) -> Booking:
    """The completed booking a receipt is of, if the user may see it."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or not can_view_booking(user, booking):
        raise NotFound(N_("No such booking."))
    if booking.status != BookingStatus.COMPLETED:
        raise Conflict(N_("A receipt is made once the service is completed (its usage recorded)."))
    return booking


@dataclass
class Statement:
    firm: Firm
    month: date  # its first day
    bookings: list[Booking]

    @property
    def totals(self) -> tuple[Decimal, Decimal, Decimal]:
        return (sum((b.cost for b in self.bookings), ZERO), sum((b.voucher_amount for b in self.bookings), ZERO),
                sum((b.firm_pays for b in self.bookings), ZERO))


def statement_of(user: User, month: date) -> Statement:
    """The user's firm's completed bookings that started in `month` (platform time)."""
    if not can_get_statement(user):
        raise PermissionDenied(N_("Statements are for firms."))
    zone = platform_zone()
    first = datetime.combine(month.replace(day=1), datetime.min.time(), zone)
    following = datetime.combine(_next_month(month), datetime.min.time(), zone)
    bookings = db.session.scalars(
        sa.select(Booking).where(Booking.firm_id == user.firm_id, Booking.status == BookingStatus.COMPLETED,
                                 Booking.start >= first, Booking.start < following)
        .options(joinedload(Booking.instrument).joinedload(Instrument.institution), joinedload(Booking.user))
        .order_by(Booking.start, Booking.id)).all()
    return Statement(db.session.get(Firm, user.firm_id), month.replace(day=1), list(bookings))


def _next_month(month: date) -> date:
    return date(month.year + (month.month == 12), month.month % 12 + 1, 1)


def _time(value: datetime | None) -> str:
    return formats.date_time(value) if value else "—"


class _Document(FPDF):
    """A page with the platform's name on top and the page number below."""

    def __init__(self, title: str):
        super().__init__(format="A4")
        font = Path(current_app.config["PDF_FONT"])
        if not font.is_file():
            current_app.logger.error("the PDF font %s is not installed (Debian: apt-get install fonts-noto-cjk)", font)
            raise Unavailable(N_("PDF files cannot be made on this server just now; the printable page has the "
                                 "same figures."))
        self.add_font("cjk", "", str(font), collection_font_number=current_app.config["PDF_FONT_FACE"])
        self.set_title(title)
        self.set_creator(_("G60 Shared Instruments"))
        self.set_lang("zh-CN")
        self.set_auto_page_break(True, margin=18)
        self.document_title = title
        self.add_page()

    def header(self):
        self.set_font("cjk", size=9)
        self.set_text_color(90)
        self.cell(0, 6, _("G60 Science and Technology Innovation Corridor · shared large research instruments"),
                  new_x="LMARGIN", new_y="NEXT")
        self.set_font("cjk", size=16)
        self.set_text_color(0)
        self.cell(0, 12, self.document_title, new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def footer(self):
        self.set_y(-14)
        self.set_font("cjk", size=8)
        self.set_text_color(120)
        # Outside the f-string: Babel's extractor does not look inside one (the line went untranslated).
        made = _("Made by the platform on %(when)s", when=_time(utcnow()))
        self.cell(0, 6, f"{made} · {self.page_no()}/{{nb}}", align="C")

    def fields(self, rows: list[tuple[str, str]]) -> None:
        """Label and value, one pair a line."""
        self.set_font("cjk", size=10.5)
        for label, value in rows:
            self.set_text_color(90)
            self.cell(45, 7.5, label)
            self.set_text_color(0)
            self.multi_cell(0, 7.5, value or "—", new_x="LMARGIN", new_y="NEXT")


def receipt_pdf(booking: Booking) -> bytes:
    instrument, firm = booking.instrument, booking.firm
    pdf = _Document(_("Service statement (服务结算单) No. %(number)s", number=booking.id))
    pdf.fields([
        (_("Institution"), instrument.institution.name),
        (_("Instrument"), " · ".join(part for part in (instrument.name, instrument.model, instrument.asset_no) if part)),
        (_("Firm"), firm.name if firm else booking.user.name),
        (_("Unified Social Credit Code"), firm.uscc if firm else ""),
        (_("Booked by"), booking.user.name),
        (_("Booked time"), formats.time_range(booking.start, booking.end)),
        (_("Time used"), formats.time_range(booking.used_start, booking.used_end) or "—"),
        (_("Service mode"), str(SERVICE_MODE_LABELS.get(booking.service_mode, booking.service_mode or ""))),
        (_("Hourly rate"), _("%(rate)s per hour", rate=money(instrument.hourly_rate))),
    ])
    pdf.ln(3)
    pdf.set_draw_color(160)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(3)
    pdf.fields([
        (_("Fee"), money(booking.cost)),
        (_("Paid by the voucher"), money(booking.voucher_amount) + (
            " (" + _("innovation voucher no. %(id)s", id=booking.voucher_id) + ")"
            if booking.voucher_id is not None and booking.voucher_amount > 0 else "")),
        (_("Your firm pays"), money(booking.firm_pays)),
    ])
    return bytes(pdf.output())


def statement_pdf(statement: Statement) -> bytes:
    pdf = _Document(_("Monthly statement %(month)s", month=formats.month(statement.month)))
    pdf.fields([(_("Firm"), statement.firm.name), (_("Unified Social Credit Code"), statement.firm.uscc)])
    pdf.ln(2)
    pdf.set_font("cjk", size=9)
    # One face (regular): a heading row is shaded instead of bold.
    with pdf.table(headings_style=FontFace(emphasis="", fill_color=(232, 236, 241)),
                   col_widths=(14, 34, 46, 18, 12, 22, 22, 22), text_align=(
            "RIGHT", "LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT")) as table:
        table.row([_("No."), _("Time"), _("Instrument"), _("Booked by"), _("Hours"), _("Fee"),
                   _("Voucher"), _("Your firm pays")])
        for booking in statement.bookings:
            table.row([str(booking.id), _time(booking.start), booking.instrument.name, booking.user.name,
                       format_hours(booking.used_hours or booking.hours), money(booking.cost),
                       money(booking.voucher_amount), money(booking.firm_pays)])
        cost, voucher, firm = statement.totals
        table.row(["", _("Total"), "", "", "", money(cost), money(voucher), money(firm)])
    return bytes(pdf.output())
