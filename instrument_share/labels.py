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
    }
