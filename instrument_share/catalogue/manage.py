"""Managers publish and edit their institution's instruments."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..accounts.policy import can_use_manager_desk
from ..database import begin_write_transaction, lock, lock_row
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from . import audit
from .models import Category, Institution, Instrument
from .policy import can_manage_instrument, can_publish_instrument


def _apply(instrument: Instrument, data: dict, taken: set[str] | None = None) -> None:
    """Copy a record, as `schemas.InstrumentWriteSchema` loads it (types,
    lengths and ranges checked), onto the instrument; refuse, naming the
    fields, what needs the database or several fields. The category lookup
    must not flush the half-applied record: a minimum above the old maximum
    would break a CHECK before its 422 is written. `taken`: the asset
    numbers already in use, when the caller read them all at once (bulk)."""
    fields = dict(data)
    errors: dict[str, list[str]] = {}
    with db.session.no_autoflush:
        if "category" in fields:
            code = fields.pop("category")
            if db.session.get(Category, code) is None:
                errors["category"] = [N_("Unknown category code.")]
            else:
                instrument.category_code = code
        for key, value in (fields.pop("contact", None) or {}).items():
            setattr(instrument, f"contact_{key}", value)
        for name, value in fields.items():
            setattr(instrument, name, value)
        if instrument.asset_no and (instrument.asset_no in taken if taken is not None
                                    else _asset_no_taken(instrument)):
            errors["asset_no"] = [N_("Another instrument of the institution has this asset number.")]
    if instrument.min_booking_minutes > instrument.max_booking_minutes:
        errors["max_booking_minutes"] = [N_("At least the minimum booking length.")]
    if errors:
        raise ValidationFailed(N_("The instrument is not valid."), errors)


def _asset_no_taken(instrument: Instrument) -> bool:
    # Two managers giving the same number at once: the second waits here and
    # then sees the first (PostgreSQL; SQLite has one writer).
    lock_row("institutions", instrument.institution_id)
    return db.session.scalar(sa.select(Instrument.id).where(
        # `asset_no <> ''` lets SQLite use the partial unique index (it
        # cannot tell that a bound value is not empty).
        Instrument.institution_id == instrument.institution_id, Instrument.asset_no != "",
        Instrument.asset_no == instrument.asset_no, Instrument.id != (instrument.id or 0))) is not None


def managed_instrument(user: User, instrument_id: int) -> Instrument:
    """The instrument, locked for the rest of the transaction, if the user
    manages it: the start of every change to one instrument (photos,
    qualifications, retiring)."""
    instrument = lock(Instrument, instrument_id)
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may change it."))
    return instrument


def model_defaults(model) -> dict:
    """The model's column defaults that are plain values (not functions)."""
    return {column.key: column.default.arg for column in model.__table__.columns
            if column.default is not None and column.default.is_scalar}


def create_instrument(user: User, data: dict) -> Instrument:
    """A manager publishes an instrument of their own institution (admins: any)."""
    institution_id = data.get("institution_id", user.institution_id if user.role == Role.MANAGER else None)
    if not can_use_manager_desk(user):
        raise PermissionDenied(N_("Only managers publish instruments."))
    if not isinstance(institution_id, int) or db.session.get(Institution, institution_id) is None:
        raise ValidationFailed(N_("Unknown institution."), {"institution_id": [N_("No such institution.")]})
    if not can_publish_instrument(user, institution_id):
        raise PermissionDenied(N_("Managers publish instruments of their own institution only."))
    missing = {name: [N_("Required.")] for name in ("name", "category") if name not in data}
    if missing:
        raise ValidationFailed(N_("The instrument is not valid."), missing)
    begin_write_transaction()
    instrument = Instrument(**model_defaults(Instrument), institution_id=institution_id)
    _apply(instrument, {key: value for key, value in data.items() if key != "institution_id"})
    db.session.add(instrument)
    db.session.flush()
    audit.record_created(instrument, user)
    db.session.flush()
    return instrument


def update_instrument(user: User, instrument_id: int, data: dict, seen: datetime | None = None) -> Instrument:
    """The instrument's managers (admins: any) change its record or settings;
    what changed goes into its audit trail. `seen`: when the record was last
    changed as the editor saw it; a record changed since is not overwritten
    (409), so of two managers saving from stale pages the second is told."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may change it."))
    if "institution_id" in data and data["institution_id"] != instrument.institution_id:
        raise ValidationFailed(N_("The instrument is not valid."),
                               {"institution_id": [N_("An instrument stays with its institution.")]})
    begin_write_transaction()
    if data.get("asset_no"):
        # Institution before instrument, as the bulk import locks them: the
        # asset-number check locks the institution, and the other order
        # could deadlock with an import on PostgreSQL.
        lock_row("institutions", instrument.institution_id)
    lock_row("instruments", instrument.id)
    db.session.refresh(instrument)  # the trail's "old" values are the committed ones
    if seen is not None and instrument.updated_at != seen:
        raise Conflict(N_("Someone saved this instrument after you opened it, so your changes were not saved: "
                          "reload the page to see theirs."), conflicts=[], suggestions=[])
    before = audit.snapshot(instrument)
    _apply(instrument, {key: value for key, value in data.items() if key != "institution_id"})
    audit.record_changes(instrument, user, before)
    db.session.flush()
    return instrument


def create_instruments(user: User, institution_id: int, records: dict[str, dict]) -> list[Instrument]:
    """Publish many instruments of one institution at once (the bulk
    import): the rules of `create_instrument`, refusals named by the key of
    each record ({"row 7": {...}}), and one flush for all of them, so that
    their rows, audit events and search terms are written in batches."""
    if not can_use_manager_desk(user) or not can_publish_instrument(user, institution_id):
        raise PermissionDenied(N_("Managers publish instruments of their own institution only."))
    begin_write_transaction()
    lock_row("institutions", institution_id)
    numbers = [data["asset_no"] for data in records.values() if data.get("asset_no")]
    taken = set(db.session.scalars(sa.select(Instrument.asset_no).where(
        Instrument.institution_id == institution_id, Instrument.asset_no != "", Instrument.asset_no.in_(numbers))))
    instruments, problems = [], {}
    for key, data in records.items():
        instrument = Instrument(**model_defaults(Instrument), institution_id=institution_id)
        try:
            missing = {name: [N_("Required.")] for name in ("name", "category") if name not in data}
            if missing:
                raise ValidationFailed(N_("The instrument is not valid."), missing)
            _apply(instrument, data, taken)
        except ValidationFailed as refused:
            problems[key] = refused.fields
            continue
        taken.add(instrument.asset_no)
        instruments.append(instrument)
    if problems:
        raise ValidationFailed(N_("Nothing was imported: correct the rows named and try again."), problems)
    db.session.add_all(instruments)
    db.session.flush()
    for instrument in instruments:
        audit.record_created(instrument, user)
    db.session.flush()
    return instruments

