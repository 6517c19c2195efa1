"""The audit trail of instruments: the one place that writes InstrumentEvent.

Services call `record` in the same transaction as the change they make, so
a change and its audit row are committed or rolled back together. Bulk
loaders (the demo region, the benchmark) write instruments directly and
leave no audit rows.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import User
from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..errors import N_, NotFound, PermissionDenied
from ..extensions import db
from ..timeutil import format_minute, isoformat_platform, utcnow
from .models import Instrument, InstrumentEvent
from .policy import can_manage_instrument

# The record's fields the trail follows (not the timestamps).
AUDITED_FIELDS = (
    "name", "name_en", "category_code", "model", "manufacturer", "country_of_origin", "original_value",
    "commissioned_on", "description", "specifications", "functions", "services", "reference_fees",
    "sharing_rules", "status", "location", "contact_name", "contact_phone", "contact_email", "hourly_rate",
    "min_booking_minutes", "max_booking_minutes", "buffer_minutes", "advance_notice_hours",
    "requires_approval", "accepts_vouchers", "accepts_orders", "open_on_holidays", "quota_class", "asset_no",
    "self_service", "next_training_on",
)


def plain(value):
    """A JSON value for the trail: amounts as '12.50', dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, datetime):
        return isoformat_platform(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def snapshot(instrument: Instrument) -> dict:
    """The audited fields of an instrument as JSON values."""
    return {name: plain(getattr(instrument, name)) for name in AUDITED_FIELDS}


def hours_snapshot(instrument: Instrument) -> list[list]:
    """The weekly opening hours as [[weekday, 'HH:MM', 'HH:MM'], …]."""
    return [[row.weekday, format_minute(row.open_minute), format_minute(row.close_minute)]
            for row in sorted(instrument.opening_hours, key=lambda r: (r.weekday, r.open_minute))]




def differences(before: dict, after: dict) -> dict:
    """{field: [old, new]} for every field whose value differs."""
    return {name: [before.get(name), value] for name, value in after.items() if before.get(name) != value}


def record(instrument: Instrument, actor: User | None, action: str, changes: dict) -> InstrumentEvent:
    """Add one row to the instrument's trail (the caller's transaction commits it)."""
    event = InstrumentEvent(instrument_id=instrument.id, actor_id=actor.id if actor else None,
                            action=action, changes=changes, at=utcnow())
    db.session.add(event)
    return event


def record_created(instrument: Instrument, actor: User | None) -> InstrumentEvent:
    """The first row: every field the new record was given, as [null, value]."""
    changes = {"institution_id": [None, instrument.institution_id]}
    changes.update({name: [None, value] for name, value in snapshot(instrument).items()
                    if value not in (None, "")})
    return record(instrument, actor, "created", changes)


def record_changes(instrument: Instrument, actor: User | None, before: dict) -> InstrumentEvent | None:
    """A row for an edit of the record, if anything changed; a change of the
    operating status is marked as such (it decides whether it can be booked)."""
    changes = differences(before, snapshot(instrument))
    if not changes:
        return None
    return record(instrument, actor, "status_changed" if "status" in changes else "changed", changes)


def instrument_history(user: User, instrument_id: int, page: int = 1, per_page: int = 50
                       ) -> tuple[Instrument, list[InstrumentEvent], int, int]:
    """One instrument's trail, newest first: its institution's managers and
    admins only. Returns the instrument, one page of events, the total and
    the page shown."""
    instrument = instrument_for_history(user, instrument_id)
    query = sa.select(InstrumentEvent).where(InstrumentEvent.instrument_id == instrument_id)
    return (instrument, *page_rows(query, InstrumentEvent.id, page, per_page, *_EVENT_LOADS))


def instrument_for_history(user: User, instrument_id: int) -> Instrument:
    """The instrument whose trail (or bookings' trail) the user asks for:
    its institution's managers and admins only."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers see its history."))
    return instrument


def audit_list(user: User, page: int = 1, per_page: int = 50, institution_id: int | None = None
               ) -> tuple[list[InstrumentEvent], int, int]:
    """The trail of every instrument the user manages, newest first: an admin
    sees all (or one institution's), a manager their institution's."""
    if not can_use_manager_desk(user):
        raise PermissionDenied(N_("Only managers and admins see the audit trail."))
    if not is_joint_office(user):
        institution_id = user.institution_id
    query = sa.select(InstrumentEvent)
    if institution_id is not None:
        query = query.join(Instrument, InstrumentEvent.instrument_id == Instrument.id).where(
            Instrument.institution_id == institution_id)
    return page_rows(query, InstrumentEvent.id, page, per_page, *_EVENT_LOADS)


_EVENT_LOADS = (joinedload(InstrumentEvent.actor), joinedload(InstrumentEvent.instrument))


def page_rows(query, order_column, page: int, per_page: int, *options) -> tuple[list, int, int]:
    """One page of a trail, newest first; a page past the end shows the last one."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    rows = db.session.scalars(
        query.options(*options).order_by(order_column.desc()).limit(per_page).offset((page - 1) * per_page)
    ).all()
    return list(rows), total, page
