"""What a booking change tells the packages above booking, in the change's
own transaction: create_app subscribes invites.notify.bookings_changed (the
mails and calendar invitations), so booking names no package above it."""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from .models import Booking

SUBSCRIBERS = "instrument_share.booking_subscribers"


def subscribe(app: Flask, subscriber: Callable[[list[Booking], str], None]) -> None:
    app.extensions.setdefault(SUBSCRIBERS, []).append(subscriber)


def bookings_changed(bookings: list[Booking], event: str) -> None:
    """Tell every subscriber that these bookings changed by `event` (a
    BookingAction); a subscriber that raises refuses the change."""
    for subscriber in current_app.extensions.get(SUBSCRIBERS, ()):
        subscriber(bookings, event)
