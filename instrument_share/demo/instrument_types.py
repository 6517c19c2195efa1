"""Demo instrument types with real manufacturers and model names.

The types themselves, with the meaning of each field, are in
``data/instrument_types.yaml``; this module reads them into ``InstrumentType``
records.  ``tags`` are research fields matched against the institution
profiles of ``data/institutions.yaml``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .datafiles import entries


@dataclass(frozen=True)
class Model:
    manufacturer: str
    model: str
    country: str  # country of origin, Chinese name
    first_year: int  # earliest plausible commissioning year
    last_year: int = 2025  # latest plausible commissioning year


@dataclass(frozen=True)
class InstrumentType:
    key: str
    category: str
    name: str
    name_en: str
    models: tuple[Model, ...]
    value: tuple[int, int]  # original value range, 万元
    rate: tuple[int, int]  # hourly rate range, CNY
    tags: frozenset[str]
    email: str  # local part of the lab mailbox
    summary: str  # short clause used in the description
    specifications: str
    functions: str
    services: str
    weight: float  # relative frequency in the random fill
    buffer: int  # minutes between bookings (venting, cleaning...)
    long_run: bool = False  # overnight / multi-day runs allowed
    special: bool = False  # unique or custom equipment, special quota
    hours: str = "day"  # "day" | "long" | "night"
    site_hints: tuple[str, ...] = ()  # words in the names of preferred buildings


MODEL = {"manufacturer": str, "model": str, "country": str, "first_year": int, "last_year?": int}
INSTRUMENT_TYPE = {
    "key": str, "category": str, "name": str, "name_en": str, "models": [MODEL],
    "value": [int, int], "rate": [int, int], "tags": str, "email": str, "site_hints?": [str],
    "summary": str, "specifications": str, "functions": str, "services": str,
    "weight": (int, float), "buffer": int, "long_run?": bool, "special?": bool, "hours?": {"day", "long", "night"},
}


def _instrument_type(entry: dict) -> InstrumentType:
    return InstrumentType(**{
        **entry,
        "models": tuple(Model(**m) for m in entry["models"]),
        "value": tuple(entry["value"]),
        "rate": tuple(entry["rate"]),
        "tags": frozenset(entry["tags"].split()),
        "site_hints": tuple(entry.get("site_hints", ())),
    })


INSTRUMENT_TYPES: tuple[InstrumentType, ...] = tuple(
    _instrument_type(e) for e in entries("instrument_types.yaml", INSTRUMENT_TYPE)
)
INSTRUMENT_TYPES_BY_KEY = {t.key: t for t in INSTRUMENT_TYPES}
