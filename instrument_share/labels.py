"""Display labels for stored codes, in the reader's language."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

STATUS_LABELS = {
    "normal": _l("Normal"),
    "standby": _l("Standby"),
    "occasional_fault": _l("Occasional faults"),
    "frequent_fault": _l("Frequent faults"),
    "awaiting_repair": _l("Awaiting repair"),
    "awaiting_scrap": _l("Awaiting scrapping"),
}
ROLE_LABELS = {
    "firm": _l("Firm"),
    "manager": _l("Instrument manager"),
    "city_admin": _l("City science bureau"),
    "admin": _l("Joint office"),
}
BOOKING_STATUS_LABELS = {
    "pending": _l("Awaiting approval"),
    "confirmed": _l("Confirmed"),
    "rejected": _l("Rejected"),
    "cancelled": _l("Cancelled"),
    "completed": _l("Completed"),
    "no_show": _l("No-show"),
}
OBSTACLE_LABELS = {"booking": _l("Booked"), "blackout": _l("Maintenance"), "closed": _l("Closed"),
                   "notice": _l("Too soon: inside the instrument's booking notice")}
EVENT_LABELS = {
    "created": _l("Booked"),
    "rescheduled": _l("Rescheduled"),
    "cancelled": _l("Cancelled"),
    "approved": _l("Approved"),
    "rejected": _l("Rejected"),
    "checked_in": _l("Checked in"),
    "usage_recorded": _l("Usage recorded"),
    "rated": _l("Rated"),
    "no_show": _l("No-show"),
    "completed": _l("Completed"),
    "lapsed": _l("Lapsed without approval"),
}
INSTRUMENT_EVENT_LABELS = {
    "created": _l("Published"),
    "changed": _l("Record changed"),
    "status_changed": _l("Operating status changed"),
    "opening_hours_changed": _l("Opening hours changed"),
    "blackout_added": _l("Blackout added"),
    "blackout_removed": _l("Blackout removed"),
}
# Names of the fields an instrument's audit trail shows (catalogue/audit.py).
FIELD_LABELS = {
    "institution_id": _l("Institution"),
    "name": _l("Name"),
    "name_en": _l("English name"),
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
    "open_on_holidays": _l("Open on holidays"),
    "quota_class": _l("Quota class"),
    "opening_hours": _l("Opening hours"),
    "blackout_id": _l("Blackout"),
    "start": _l("Start"),
    "end": _l("End"),
    "reason": _l("Reason"),
    "cancelled_bookings": _l("Bookings cancelled"),
}
SERVICE_MODE_LABELS = {
    "self_operated": _l("Self-operated (占用共享)"),
    "guided": _l("Operated with guidance (技术共享)"),
    "commissioned": _l("Samples run by staff (委托共享)"),
    "remote": _l("Remote (远程共享)"),
}
RATING_LABELS = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Acceptable"),
                 2: _l("Dissatisfied"), 1: _l("Very poor")}
MAIL_STATUS_LABELS = {"queued": _l("Queued"), "sending": _l("Sending"), "sent": _l("Sent"), "dead": _l("Failed")}
VOUCHER_STATUS_LABELS = {"active": _l("Active"), "expired": _l("Expired"), "revoked": _l("Revoked")}
LEDGER_LABELS = {"grant": _l("Granted"), "hold": _l("Held for a booking"), "capture": _l("Spent"),
                 "release": _l("Released"), "revoke": _l("Revoked")}
CLAIM_LINE_LABELS = {"pending": _l("Awaiting review"), "approved": _l("Approved"), "rejected": _l("Rejected")}
QUOTA_LABELS = {"general": _l("General purpose"), "special": _l("Special purpose")}
WEEKDAY_LABELS = (_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun"))


def local_name(obj) -> str:
    """The English name in English pages when there is one, else the Chinese name."""
    if get_locale().language == "en" and getattr(obj, "name_en", ""):
        return obj.name_en
    return obj.name


def template_helpers() -> dict:
    return {
        "status_label": lambda code: STATUS_LABELS.get(code, code),
        "role_label": lambda code: ROLE_LABELS.get(code, code),
        "quota_label": lambda code: QUOTA_LABELS.get(code, code),
        "weekday_label": lambda day: WEEKDAY_LABELS[day],
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
    }
