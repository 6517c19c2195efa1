"""Managers publish and edit their institution's instruments."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from ..accounts.models import Role, User
from ..accounts.policy import can_use_manager_desk
from ..database import begin_write_transaction, lock_row
from ..db_types import to_money
from ..errors import N_, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from . import audit
from .models import (
    INSTRUMENT_STATUSES,
    QUOTA_CLASSES,
    Category,
    Institution,
    Instrument,
    InstrumentStatus,
    QuotaClass,
)
from .policy import can_manage_instrument, can_publish_instrument

TEXT_FIELDS = {
    "name": 200, "name_en": 200, "model": 120, "manufacturer": 120, "country_of_origin": 40,
    "description": 20000, "specifications": 20000, "functions": 20000, "services": 20000,
    "reference_fees": 5000, "sharing_rules": 20000, "location": 200,
}
INT_FIELDS = {"min_booking_minutes": (1, 10080), "max_booking_minutes": (1, 10080),
              "buffer_minutes": (0, 1440), "advance_notice_hours": (0, 24 * 90)}
BOOL_FIELDS = ("requires_approval", "accepts_vouchers", "open_on_holidays")


def _apply(instrument: Instrument, data: dict, errors: dict) -> None:
    """Copy the given fields onto the instrument, collecting what is wrong.
    The lookups on the way must not flush a half-applied record: a minimum
    above the old maximum would break a CHECK before its 422 is written."""
    with db.session.no_autoflush:
        _apply_fields(instrument, data, errors)


def _apply_fields(instrument: Instrument, data: dict, errors: dict) -> None:
    for name, limit in TEXT_FIELDS.items():
        if name in data:
            value = data[name]
            if not isinstance(value, str) or len(value) > limit or (name == "name" and not value.strip()):
                errors[name] = [N_("Text required, not too long.")]
            else:
                setattr(instrument, name, value.strip())
    for name, (low, high) in INT_FIELDS.items():
        if name in data:
            value = data[name]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                errors[name] = [N_("A whole number in the allowed range.")]
            else:
                setattr(instrument, name, value)
    for name in BOOL_FIELDS:
        if name in data:
            if not isinstance(data[name], bool):
                errors[name] = [N_("true or false.")]
            else:
                setattr(instrument, name, data[name])
    for name in ("hourly_rate", "original_value"):
        if name in data:
            try:
                value = None if data[name] is None and name == "original_value" else Decimal(str(data[name]))
                if value is not None and (not value.is_finite() or value < 0 or value > Decimal("100000000")):
                    raise InvalidOperation
                setattr(instrument, name, None if value is None else to_money(value))
            except (InvalidOperation, ValueError):
                errors[name] = [N_("A non-negative amount.")]
    if "status" in data:
        if data["status"] not in INSTRUMENT_STATUSES:
            errors["status"] = [N_("One of the operating statuses.")]
        else:
            instrument.status = data["status"]
    if "quota_class" in data:
        if data["quota_class"] not in QUOTA_CLASSES:
            errors["quota_class"] = [N_("general or special.")]
        else:
            instrument.quota_class = data["quota_class"]
    if "category" in data:
        if not isinstance(data["category"], str) or db.session.get(Category, data["category"]) is None:
            errors["category"] = [N_("Unknown category code.")]
        else:
            instrument.category_code = data["category"]
    if "commissioned_on" in data:
        value = data["commissioned_on"]
        if value is not None and not isinstance(value, date):
            errors["commissioned_on"] = [N_("A date.")]
        else:
            instrument.commissioned_on = value
    if "contact" in data:
        contact = data["contact"] if isinstance(data["contact"], dict) else None
        if contact is None:
            errors["contact"] = [N_("An object with name, phone and email.")]
        else:
            instrument.contact_name = str(contact.get("name", instrument.contact_name))[:60]
            instrument.contact_phone = str(contact.get("phone", instrument.contact_phone))[:40]
            instrument.contact_email = str(contact.get("email", instrument.contact_email))[:120]
    if (instrument.min_booking_minutes or 0) > (instrument.max_booking_minutes or 0):
        errors["max_booking_minutes"] = [N_("At least the minimum booking length.")]


def create_instrument(user: User, data: dict) -> Instrument:
    """A manager publishes an instrument of their own institution (admins: any)."""
    institution_id = data.get("institution_id", user.institution_id if user.role == Role.MANAGER else None)
    if not can_use_manager_desk(user):
        raise PermissionDenied(N_("Only managers publish instruments."))
    if not isinstance(institution_id, int) or db.session.get(Institution, institution_id) is None:
        raise ValidationFailed(N_("Unknown institution."), {"institution_id": [N_("No such institution.")]})
    if not can_publish_instrument(user, institution_id):
        raise PermissionDenied(N_("Managers publish instruments of their own institution only."))
    errors: dict[str, list[str]] = {}
    for required in ("name", "category"):
        if required not in data:
            errors[required] = [N_("Required.")]
    begin_write_transaction()
    instrument = Instrument(institution_id=institution_id, min_booking_minutes=30, max_booking_minutes=480,
                            buffer_minutes=0, advance_notice_hours=24, hourly_rate=Decimal("0.00"),
                            status=InstrumentStatus.NORMAL, quota_class=QuotaClass.GENERAL, requires_approval=False,
                            accepts_vouchers=True, open_on_holidays=False)
    _apply(instrument, data, errors)
    if errors:
        raise ValidationFailed(N_("The instrument is not valid."), errors)
    instrument.refresh_search_text()
    db.session.add(instrument)
    db.session.flush()
    audit.record_created(instrument, user)
    db.session.flush()
    return instrument


def update_instrument(user: User, instrument_id: int, data: dict) -> Instrument:
    """The instrument's managers (admins: any) change its record or settings;
    what changed goes into its audit trail."""
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFound(N_("No such instrument."))
    if not can_manage_instrument(user, instrument):
        raise PermissionDenied(N_("Only the instrument's managers may change it."))
    if "institution_id" in data and data["institution_id"] != instrument.institution_id:
        raise ValidationFailed(N_("The instrument is not valid."),
                               {"institution_id": [N_("An instrument stays with its institution.")]})
    begin_write_transaction()
    lock_row("instruments", instrument.id)
    db.session.refresh(instrument)  # the trail's "old" values are the committed ones
    before = audit.snapshot(instrument)
    errors: dict[str, list[str]] = {}
    _apply(instrument, data, errors)
    if errors:
        raise ValidationFailed(N_("The instrument is not valid."), errors)
    instrument.refresh_search_text()
    audit.record_changes(instrument, user, before)
    db.session.flush()
    return instrument
