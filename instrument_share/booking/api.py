"""Booking, availability and schedule endpoints of /api/v1 (API.md, "Bookings")."""
from __future__ import annotations

from flask import Response

from ..accounts.bearer import authenticated, require_user
from ..api.parsing import Blueprint
from ..api.schemas import NO_AUTH, envelope, list_envelope
from ..catalogue.hours import set_opening_hours
from ..catalogue.services import get_instrument
from ..spreadsheets import TABLES
from . import quote, receipts, schedule, services, usage, violations
from .availability import availability
from .export import MAX_ROWS, history_file
from .ics import booking_calendar
from .schemas import (
    AvailabilityArgs,
    AvailabilitySchema,
    BlackoutCreateSchema,
    BlackoutSchema,
    BookingCreatedSchema,
    BookingCreateSchema,
    BookingQueryArgs,
    BookingSchema,
    BookingsMade,
    OpeningHoursRowSchema,
    QuoteSchema,
    RatingSchema,
    ReasonSchema,
    RescheduleSchema,
    UsageSchema,
)

blp = Blueprint("booking_api", __name__, description="Bookings, availability, schedules")


@blp.post("/bookings")
@authenticated
@blp.arguments(BookingCreateSchema)
@blp.response(201, BookingCreatedSchema)
def create_booking(body):
    """Book an instrument, or every occurrence of a recurrence (all or none)."""
    user = require_user()
    return BookingsMade(services.create_booking(user, **body))


@blp.post("/bookings/quote")
@authenticated
@blp.arguments(BookingCreateSchema)
@blp.response(200, QuoteSchema)
def quote_booking(body):
    """What `POST /bookings` would do with this body, booking nothing: the
    price, the voucher's part and the firm's, the status, every occurrence
    with its conflicts, suggestions, and what it would be refused for."""
    return quote.quote_booking(require_user(), **body)


@blp.get("/bookings")
@authenticated
@blp.arguments(BookingQueryArgs, location="query", as_kwargs=True)
@blp.response(200, list_envelope(BookingSchema, "BookingList"))
@blp.doc(responses={200: TABLES})
def list_bookings(page, per_page, status=None, instrument=None, from_=None, to=None, format="json",
                  headers="labels"):
    """Own bookings (firm: the firm's), bookings on own instruments (manager),
    all (admin); newest first, paging through the whole history, or with
    `format=csv|xlsx` all of them as one file."""
    user = require_user()
    filters = {"status": status, "instrument_id": instrument, "start": from_, "end": to}
    if format != "json":
        return history_file(services.all_bookings(user, MAX_ROWS, **filters), format, codes=headers == "codes")
    items, total = services.list_bookings(user, page=page, per_page=per_page, **filters)
    return envelope(items, total, page, per_page)


@blp.get("/bookings/<int:booking_id>/receipt.pdf")
@authenticated
@blp.response(200, description="application/pdf: the service statement", content_type="application/pdf")
@blp.alt_response(409, response="Conflict", description="Not completed yet: no receipt")
def booking_receipt(booking_id):
    """The service statement (服务结算单) of a completed booking as a PDF:
    the booker's firm, the institution's managers and the joint office."""
    booking = receipts.receipt_booking(booking_id, require_user())
    return Response(receipts.receipt_pdf(booking), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="receipt-{booking.id}.pdf"'})


@blp.get("/bookings/<int:booking_id>")
@authenticated
@blp.response(200, BookingSchema)
def get_booking(booking_id):
    """One booking the caller may see."""
    return services.get_booking(booking_id, require_user())


@blp.patch("/bookings/<int:booking_id>")
@authenticated
@blp.arguments(RescheduleSchema)
@blp.response(200, BookingSchema)
def reschedule_booking(body, booking_id):
    """Move a booking; it never conflicts with itself."""
    user = require_user()
    booking = services.reschedule_booking(services.get_booking(booking_id, user), user, **body)
    return booking


@blp.post("/bookings/<int:booking_id>/cancel")
@authenticated
@blp.arguments(ReasonSchema)
@blp.response(200, BookingSchema)
def cancel_booking(body, booking_id):
    """Cancel a booking that has not started."""
    user = require_user()
    booking = services.cancel_booking(services.get_booking(booking_id, user), user, body["reason"])
    return booking


@blp.post("/bookings/<int:booking_id>/approve")
@authenticated
@blp.response(200, BookingSchema)
def approve_booking(booking_id):
    """Managers: confirm a pending booking."""
    user = require_user()
    booking = services.approve_booking(services.get_booking(booking_id, user), user)
    return booking


@blp.post("/bookings/<int:booking_id>/reject")
@authenticated
@blp.arguments(ReasonSchema)
@blp.response(200, BookingSchema)
def reject_booking(body, booking_id):
    """Managers: refuse a pending booking with a reason."""
    user = require_user()
    booking = services.reject_booking(services.get_booking(booking_id, user), user, body["reason"])
    return booking


@blp.post("/bookings/<int:booking_id>/check-in")
@authenticated
@blp.response(200, BookingSchema)
def check_in(booking_id):
    """The booker or a manager marks the service as started (签到)."""
    user = require_user()
    booking = usage.check_in(services.get_booking(booking_id, user), user)
    return booking


@blp.post("/bookings/<int:booking_id>/usage")
@authenticated
@blp.arguments(UsageSchema)
@blp.response(200, BookingSchema)
def record_usage(body, booking_id):
    """Managers: the hours actually used and the service mode."""
    user = require_user()
    booking = usage.record_usage(
        services.get_booking(booking_id, user), user, body["start"], body["end"], body["service_mode"]
    )
    return booking


@blp.post("/bookings/<int:booking_id>/rating")
@authenticated
@blp.arguments(RatingSchema)
@blp.response(200, BookingSchema)
def rate_booking(body, booking_id):
    """The firm rates a completed service: 5 非常满意 … 1 极差."""
    user = require_user()
    booking = usage.rate_booking(services.get_booking(booking_id, user), user, body["rating"], body["comment"])
    return booking


@blp.get("/bookings/<int:booking_id>/ics")
@authenticated
@blp.response(200, description="text/calendar: the booking's event", content_type="text/calendar")
def booking_ics(booking_id):
    """The booking as an iCalendar event (same UID as the invites, current SEQUENCE)."""
    booking = services.get_booking(booking_id, require_user())
    return Response(booking_calendar(booking), mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="booking-{booking.id}.ics"'})


@blp.get("/instruments/<int:instrument_id>/availability")
@blp.doc(security=NO_AUTH)
@blp.arguments(AvailabilityArgs, location="query", as_kwargs=True)
@blp.response(200, AvailabilitySchema)
def instrument_availability(instrument_id, from_, to):
    """Busy (booking, blackout, closed) and free time; never who booked."""
    return availability(get_instrument(instrument_id), from_, to)


@blp.put("/instruments/<int:instrument_id>/opening-hours")
@authenticated
@blp.arguments(OpeningHoursRowSchema(many=True))
@blp.response(200, OpeningHoursRowSchema(many=True))
def put_opening_hours(rows, instrument_id):
    """Managers: replace the weekly opening hours (Monday = 0)."""
    user = require_user()
    instrument = get_instrument(instrument_id)
    return set_opening_hours(instrument, user, rows)


@blp.post("/instruments/<int:instrument_id>/blackouts")
@authenticated
@blp.arguments(BlackoutCreateSchema)
@blp.response(201, BlackoutSchema)
def create_blackout(body, instrument_id):
    """Managers: block time; bookings in the way refuse it unless cancel_bookings is true."""
    user = require_user()
    blackout = schedule.create_blackout(get_instrument(instrument_id), user, **body)
    return blackout


@blp.delete("/blackouts/<int:blackout_id>")
@authenticated
@blp.response(204)
def delete_blackout(blackout_id):
    """Managers: remove a blackout."""
    schedule.delete_blackout(blackout_id, require_user())


@blp.post("/users/<int:user_id>/lift-suspension")
@authenticated
@blp.response(204)
def lift_suspension(user_id):
    """Managers where the user failed to show, and admins: restore booking."""
    violations.lift_suspension(require_user(), user_id)
