"""Display labels for stored codes, in the reader's language, for the
templates (site.py); a domain's form keeps the labels of its own choices."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from . import formats
from .accounts.models import City, Role
from .booking.forms import BOOKING_STATUS_LABELS, RATING_LABELS, SERVICE_MODE_LABELS
from .booking.models import BookingAction
from .catalogue.models import Category, InstrumentStatus, QuotaClass
from .extensions import db
from .mail.models import MessageStatus
from .orders.models import OrderStatus
from .vouchers.models import ClaimLineStatus, EntryKind, VoucherStatus
from .web import local_name

STATUS_LABELS = {
    InstrumentStatus.NORMAL: _l("Normal"),
    InstrumentStatus.STANDBY: _l("Standby"),
    InstrumentStatus.OCCASIONAL_FAULT: _l("Occasional faults"),
    InstrumentStatus.FREQUENT_FAULT: _l("Frequent faults"),
    InstrumentStatus.AWAITING_REPAIR: _l("Awaiting repair"),
    InstrumentStatus.AWAITING_SCRAP: _l("Awaiting scrapping"),
}
ROLE_LABELS = {
    Role.FIRM: _l("Firm"),
    Role.MANAGER: _l("Instrument manager"),
    Role.CITY_ADMIN: _l("City science bureau"),
    Role.ADMIN: _l("Joint office"),
}
OBSTACLE_LABELS = {"booking": _l("Booked"), "blackout": _l("Maintenance"), "closed": _l("Closed"),
                   "notice": _l("Too soon: inside the instrument's booking notice")}
EVENT_LABELS = {
    BookingAction.CREATED: _l("Booked"),
    BookingAction.RESCHEDULED: _l("Rescheduled"),
    BookingAction.CANCELLED: _l("Cancelled"),
    BookingAction.APPROVED: _l("Approved"),
    BookingAction.REJECTED: _l("Rejected"),
    BookingAction.CHECKED_IN: _l("Checked in"),
    BookingAction.USAGE_RECORDED: _l("Usage recorded"),
    BookingAction.RATED: _l("Rated"),
    BookingAction.NO_SHOW: _l("No-show"),
    BookingAction.COMPLETED: _l("Completed"),
    BookingAction.LAPSED: _l("Lapsed without approval"),
}
INSTRUMENT_EVENT_LABELS = {
    "created": _l("Published"),
    "changed": _l("Record changed"),
    "status_changed": _l("Operating status changed"),
    "opening_hours_changed": _l("Opening hours changed"),
    "blackout_added": _l("Blackout added"),
    "blackout_removed": _l("Blackout removed"),
    "qualification_granted": _l("Qualification granted"),
    "qualification_revoked": _l("Qualification revoked"),
    "photo_added": _l("Photo added"),
    "photo_removed": _l("Photo removed"),
}
# Names of the fields an instrument's audit trail shows (catalogue/audit.py).
FIELD_LABELS = {
    "institution_id": _l("Institution"),
    "name": _l("Name"),
    "name_en": _l("English name"),
    "asset_no": _l("Asset number"),
    "category_code": _l("Category"),
    "model": _l("Model"),
    "manufacturer": _l("Manufacturer"),
    "country_of_origin": _l("Country of origin"),
    "original_value": _l("Original value"),
    "commissioned_on": _l("Commissioned"),
    "description": _l("Description"),
    "specifications": _l("Main specifications"),
    "functions": _l("Main functions"),
    "services": _l("Services offered"),
    "reference_fees": _l("Reference fees"),
    "sharing_rules": _l("Sharing rules"),
    "status": _l("Operating status"),
    "location": _l("Location"),
    "contact_name": _l("Contact"),
    "contact_phone": _l("Contact phone"),
    "contact_email": _l("Contact email"),
    "hourly_rate": _l("Hourly rate (¥)"),
    "min_booking_minutes": _l("Shortest booking (minutes)"),
    "max_booking_minutes": _l("Longest booking (minutes)"),
    "buffer_minutes": _l("Changeover buffer (minutes)"),
    "advance_notice_hours": _l("Advance notice (hours)"),
    "requires_approval": _l("Needs approval"),
    "accepts_vouchers": _l("Accepts vouchers"),
    "accepts_orders": _l("Takes orders for entrusted testing (委托测试)"),
    "open_on_holidays": _l("Open on holidays"),
    "quota_class": _l("Quota class"),
    "self_service": _l("Qualified users run it themselves"),
    "next_training_on": _l("Next training"),
    "retired_on": _l("Retired on"),
    "user": _l("User"),
    "photo": _l("Photo"),
    "expires_on": _l("Valid until"),
    "opening_hours": _l("Opening hours"),
    "blackout_id": _l("Blackout"),
    "start": _l("Start"),
    "end": _l("End"),
    "reason": _l("Reason"),
    "cancelled_bookings": _l("Bookings cancelled"),
}
MAIL_STATUS_LABELS = {MessageStatus.QUEUED: _l("Queued"), MessageStatus.SENDING: _l("Sending"),
                      MessageStatus.SENT: _l("Sent"), MessageStatus.DEAD: _l("Failed")}
VOUCHER_STATUS_LABELS = {VoucherStatus.ACTIVE: _l("Active"), VoucherStatus.EXPIRED: _l("Expired"),
                         VoucherStatus.REVOKED: _l("Revoked")}
LEDGER_LABELS = {EntryKind.GRANT: _l("Granted"), EntryKind.HOLD: _l("Held for a booking"),
                 EntryKind.CAPTURE: _l("Spent"), EntryKind.RELEASE: _l("Released"), EntryKind.REVOKE: _l("Revoked")}
CLAIM_LINE_LABELS = {ClaimLineStatus.PENDING: _l("Awaiting review"), ClaimLineStatus.APPROVED: _l("Approved"),
                     ClaimLineStatus.REJECTED: _l("Rejected")}
ORDER_STATUS_LABELS = {
    OrderStatus.SUBMITTED: _l("Waiting for a quote"),
    OrderStatus.QUOTED: _l("Quoted"),
    OrderStatus.ACCEPTED: _l("Quote accepted"),
    OrderStatus.RECEIVED: _l("Samples received, testing"),
    OrderStatus.REPORTED: _l("Report ready"),
    OrderStatus.CLOSED: _l("Order closed"),
    OrderStatus.DECLINED: _l("Declined"),
    OrderStatus.WITHDRAWN: _l("Withdrawn"),
    OrderStatus.REJECTED: _l("Quote rejected"),
}
# The actions of an order's events (orders/services.py writes them).
ORDER_EVENT_LABELS = {
    "submitted": _l("Order submitted"),
    "quoted": _l("Quoted"),
    "declined": _l("Declined by the institution"),
    "accepted": _l("Quote accepted"),
    "rejected": _l("Quote rejected"),
    "withdrawn": _l("Withdrawn by the firm"),
    "received": _l("Samples received"),
    "reported": _l("Report uploaded"),
    "closed": _l("Rated and closed"),
    "lapsed": _l("Quote lapsed"),
}
QUOTA_LABELS = {QuotaClass.GENERAL: _l("General purpose"), QuotaClass.SPECIAL: _l("Special purpose")}


def city_label(code: str | None) -> str:
    """A city's name in the reader's language for its stored code (松江 / Songjiang)."""
    city = db.session.get(City, code) if code else None  # reference data: the session's identity map keeps it
    return local_name(city) if city else (code or "")


def category_label(code: str | None) -> str:
    """A category's name in the reader's language for its stored code."""
    category = db.session.get(Category, code) if code else None
    return local_name(category) if category else (code or "")


def row_label(row: dict) -> str:
    """A statistics row's name in the reader's language (the services give both)."""
    return (get_locale().language == "en" and row.get("label_en")) or row["label"]


def template_helpers() -> dict:
    return {
        "city_label": city_label,
        "row_label": row_label,
        "category_label": category_label,
        "status_label": lambda code: STATUS_LABELS.get(code, code),
        "role_label": lambda code: ROLE_LABELS.get(code, code),
        "quota_label": lambda code: QUOTA_LABELS.get(code, code),
        "weekday_label": formats.weekday,  # Babel's names: 周二 / Tue
        "local_name": local_name,
        "booking_status_label": lambda code: BOOKING_STATUS_LABELS.get(code, code),
        "obstacle_label": lambda code: OBSTACLE_LABELS.get(code, code),
        "event_label": lambda code: EVENT_LABELS.get(code, code),
        "instrument_event_label": lambda code: INSTRUMENT_EVENT_LABELS.get(code, code),
        "field_label": lambda name: FIELD_LABELS.get(name, name),
        "mail_status_label": lambda code: MAIL_STATUS_LABELS.get(code, code),
        "voucher_status_label": lambda code: VOUCHER_STATUS_LABELS.get(code, code),
        "ledger_label": lambda code: LEDGER_LABELS.get(code, code),
        "claim_line_label": lambda code: CLAIM_LINE_LABELS.get(code, code),
        "rating_label": lambda value: RATING_LABELS.get(value, value),
        "service_mode_label": lambda code: SERVICE_MODE_LABELS.get(code, code),
        "order_status_label": lambda code: ORDER_STATUS_LABELS.get(code, code),
        "order_event_label": lambda code: ORDER_EVENT_LABELS.get(code, code),
    }
