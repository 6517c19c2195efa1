"""Reading the booking trail (BookingEvent rows are written by the booking services)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..catalogue.audit import instrument_for_history, page_rows
from ..catalogue.models import Instrument
from .models import Booking, BookingEvent


def instrument_booking_events(user: User, instrument_id: int, page: int = 1, per_page: int = 50
                              ) -> tuple[Instrument, list[BookingEvent], int, int]:
    """Who booked, moved, approved, rejected, cancelled … the instrument's
    bookings, newest first: its institution's managers and admins only.
    Returns the instrument, one page of events, the total and the page shown."""
    instrument = instrument_for_history(user, instrument_id)
    query = (sa.select(BookingEvent).join(Booking, BookingEvent.booking_id == Booking.id)
             .where(Booking.instrument_id == instrument_id))
    rows, total, page = page_rows(query, BookingEvent.id, page, per_page,
                                  joinedload(BookingEvent.actor), joinedload(BookingEvent.booking))
    return instrument, rows, total, page
