"""The demo's history, once: bookings (bookings.py), the voucher money they
moved and the claims on it (money.py), a user suspended after no-shows."""
from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import datetime, timedelta

import click
import sqlalchemy as sa

from ..accounts.models import User
from ..booking.models import Booking, BookingStatus
from ..extensions import db
from .bookings import bookable_instruments, make_history, people, write_history
from .money import file_claims, grant_vouchers, spend, write_entries, write_vouchers

NO_SHOWS_TO_SUSPEND = 3


def _suspend(bookings: list[dict], user: User | None, now: datetime) -> None:
    """The user's last three bookings were missed, and booking is suspended."""
    if user is None:
        return
    past = sorted((row for row in bookings if row["user_id"] == user.id and row["end"] <= now),
                  key=lambda row: row["start"])[-NO_SHOWS_TO_SUSPEND:]
    for row in past:
        row.update(status=BookingStatus.NO_SHOW, checked_in_at=None, used_start=None, used_end=None,
                   service_mode=None, rating=None, rating_comment="", decision_reason="")
    if len(past) == NO_SHOWS_TO_SUSPEND:
        user.booking_suspended_at = past[-1]["end"] + timedelta(hours=1)


def seed_history(rng: random.Random, now: datetime, progress: bool = False, suspended: str | None = None) -> int:
    """Bookings, blackouts, vouchers, their ledger and claims, when there are
    no bookings yet; returns how many bookings were added."""
    if db.session.scalar(sa.select(sa.func.count(Booking.id))):
        return 0
    instruments = bookable_instruments()
    staff, firm_users, managers = people({instrument.institution_id for instrument in instruments})
    if not firm_users and not staff:
        return 0
    bar = click.progressbar(length=len(instruments), label="History    ", show_pos=True) if progress \
        else nullcontext()
    with bar:
        made = make_history(rng, now, instruments, staff, firm_users, managers, first_id=1,
                            tick=(lambda: bar.update(1)) if progress else (lambda: None))
    if suspended is not None:
        _suspend(made.bookings, db.session.scalar(sa.select(User).where(User.email == suspended)), now)
    ledger, by_firm_year = grant_vouchers(rng, now, first_id=1)
    spend(rng, ledger, by_firm_year, made.bookings, {instrument.id: instrument for instrument in instruments})
    write_vouchers(ledger)
    bar = click.progressbar(length=len(made.bookings), label="Bookings   ", show_pos=True) if progress \
        else nullcontext()
    with bar:
        write_history(made, tick=(lambda n: bar.update(n)) if progress else (lambda n: None))
    write_entries(ledger)
    file_claims(rng, now, {row["id"]: row for row in made.bookings},
                {instrument.id: instrument for instrument in instruments})
    return len(made.bookings)
