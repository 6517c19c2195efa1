"""The workspace's rules: starring instruments, keeping searches, and what
the landing page shows (in a bounded number of statements)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import User
from ..booking.availability import next_free
from ..booking.models import Booking, BookingStatus
from ..booking.services import my_bookings_query, upcoming_bookings
from ..catalogue.models import Instrument
from ..database import begin_write_transaction
from ..errors import N_, NotFound, ValidationFailed
from ..extensions import db
from ..orders.models import Order
from ..orders.queues import firm_open_orders
from ..search.services import QUERY_ARGS
from ..text import TextRefused, clean_line
from ..timeutil import platform_today
from ..vouchers.models import Voucher, VoucherStatus
from .models import Favourite, SavedSearch

MAX_SAVED_SEARCHES = 20
MAX_FAVOURITES = 50  # each shows its next free slot on the workspace
UPCOMING_SHOWN = 50  # the soonest bookings the workspace reads (five shown, the pending listed)


def is_favourite(user: User, instrument_id: int) -> bool:
    return db.session.get(Favourite, (user.id, instrument_id)) is not None


def toggle_favourite(user: User, instrument_id: int) -> bool:
    """Star an instrument, or unstar it; True when it is now a favourite."""
    if db.session.get(Instrument, instrument_id) is None:
        raise NotFound(N_("No such instrument."))
    begin_write_transaction()
    done = db.session.execute(sa.delete(Favourite).where(Favourite.user_id == user.id,
                                                         Favourite.instrument_id == instrument_id)
                              .execution_options(synchronize_session=False))
    if done.rowcount:
        return False
    starred = db.session.scalar(sa.select(sa.func.count()).select_from(Favourite).where(Favourite.user_id == user.id))
    if starred >= MAX_FAVOURITES:
        raise ValidationFailed(N_("Too many favourites."), {"instrument_id": [
            N_("You have 50 favourite instruments already; unstar one first.")]})
    db.session.add(Favourite(user_id=user.id, instrument_id=instrument_id))
    db.session.flush()
    return True


def kept_query(query: str) -> str:
    """Of a search page's query string, the arguments that say what is
    searched, encoded again (nothing else gets through, line breaks neither)."""
    return urlencode([(k, v) for k, v in parse_qsl(query or "") if k in QUERY_ARGS and v])


def save_search(user: User, name: str, query: str) -> SavedSearch:
    errors: dict[str, list[str]] = {}
    try:
        name = clean_line(name or "")
    except TextRefused as refused:
        errors["name"] = [refused.message]
    if not errors and not (1 <= len(name) <= 100):
        errors["name"] = [N_("Give the search a name of at most 100 characters.")]
    kept = kept_query(query)
    if not kept or len(kept) > 1000:
        errors["query"] = [N_("Search for something first, then keep the search.")]
    if errors:
        raise ValidationFailed(N_("The search could not be kept."), errors)
    begin_write_transaction()
    kept_already = db.session.scalar(sa.select(sa.func.count()).select_from(SavedSearch)
                                     .where(SavedSearch.user_id == user.id))
    if kept_already >= MAX_SAVED_SEARCHES:
        raise ValidationFailed(N_("Too many saved searches."),
                               {"name": [N_("You keep 20 searches already; delete one first.")]})
    search = SavedSearch(user_id=user.id, name=name, query=kept)
    db.session.add(search)
    db.session.flush()
    return search


def delete_saved_search(user: User, search_id: int) -> None:
    begin_write_transaction()
    done = db.session.execute(sa.delete(SavedSearch).where(SavedSearch.id == search_id,
                                                           SavedSearch.user_id == user.id)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise NotFound(N_("No such saved search."))


@dataclass
class Workspace:
    upcoming: list[Booking]
    pending: list[Booking]
    vouchers: list
    receipts: list[Booking]
    favourites: list[tuple[Instrument, tuple[datetime, datetime] | None]]
    searches: list[SavedSearch]
    orders: list[Order]  # the firm's orders of entrusted testing still under way


def workspace_of(user: User, now: datetime) -> Workspace:
    """What the landing page shows: the next bookings, those waiting for
    approval, the firm's usable vouchers, the latest completed services
    (their receipts), the favourites with their next free slot, the saved
    searches, and the firm's orders of entrusted testing under way."""
    upcoming = upcoming_bookings(user, now, most=UPCOMING_SHOWN)
    pending = [b for b in upcoming if b.status == BookingStatus.PENDING]
    ahead = [b for b in upcoming if b.status != BookingStatus.PENDING][:5]
    today = platform_today()
    vouchers = list(db.session.scalars(sa.select(Voucher).where(
        Voucher.firm_id == user.firm_id, Voucher.status == VoucherStatus.ACTIVE, Voucher.balance > 0,
        Voucher.expires_on >= today).order_by(Voucher.expires_on, Voucher.id))) if user.firm_id is not None else []
    receipts = list(db.session.scalars(
        my_bookings_query(user).where(Booking.status == BookingStatus.COMPLETED).limit(5)
        .options(joinedload(Booking.instrument).joinedload(Instrument.institution))))
    starred = list(db.session.scalars(
        sa.select(Instrument).join(Favourite, Favourite.instrument_id == Instrument.id)
        .where(Favourite.user_id == user.id).order_by(Favourite.created_at.desc())
        .options(joinedload(Instrument.institution), selectinload(Instrument.opening_hours))))
    slots = next_free(starred, now)
    searches = list(db.session.scalars(sa.select(SavedSearch).where(SavedSearch.user_id == user.id)
                                       .order_by(SavedSearch.created_at.desc(), SavedSearch.id.desc())))
    return Workspace(ahead, pending, vouchers, receipts, [(i, slots.get(i.id)) for i in starred], searches,
                     firm_open_orders(user))
