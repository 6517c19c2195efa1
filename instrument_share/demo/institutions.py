"""Demo institutions with their generator profiles, demo firms and the staff's
telephone numbers, read from ``data/institutions.yaml``, ``data/firms.yaml``
and ``data/city_phones.yaml`` (which say what each field means).
"""

from __future__ import annotations

from dataclasses import dataclass

from .datafiles import DATA_DIR, DemoDataError, entries
from .instrument_types import INSTRUMENT_TYPES_BY_KEY


@dataclass(frozen=True)
class DemoInstitution:
    city: str
    name: str
    name_en: str
    kind: str  # "university" | "institute" | "hospital" | "testing"
    slug: str


@dataclass(frozen=True)
class InstitutionProfile:
    """How the generator treats an institution (not part of the public record)."""

    size: int  # number of instruments to generate
    since: int  # earliest plausible commissioning year
    tags: frozenset[str]  # research fields, matched against instrument-type tags
    sites: tuple[str, ...]  # buildings where instruments are installed


@dataclass(frozen=True)
class DemoFirm:
    city: str
    name: str
    uscc: str
    tags: frozenset[str] = frozenset()  # industries, as institutions' research-field tags


INSTITUTION = {
    "slug": str, "city": str, "name": str, "name_en": str,
    "kind": {"university", "institute", "hospital", "testing"},
    "size": int, "since": int, "tags": str, "sites": [str], "flagship?": [str],
}
FIRM = {"uscc": str, "city": str, "name": str, "tags": str}
CITY_PHONE = {"city": str, "area_code": str, "digits": int, "prefixes": [str]}

_institutions = entries("institutions.yaml", INSTITUTION)

INSTITUTIONS: tuple[DemoInstitution, ...] = tuple(
    DemoInstitution(city=e["city"], name=e["name"], name_en=e["name_en"], kind=e["kind"], slug=e["slug"])
    for e in _institutions
)
PROFILES: dict[str, InstitutionProfile] = {
    e["slug"]: InstitutionProfile(size=e["size"], since=e["since"], tags=frozenset(e["tags"].split()),
                                  sites=tuple(e["sites"]))
    for e in _institutions
}
# (institution slug, instrument type key): flagship and custom equipment that must exist
MANDATORY: tuple[tuple[str, str], ...] = tuple(
    (e["slug"], key) for e in _institutions for key in e.get("flagship", ())
)
for _slug, _key in MANDATORY:
    if _key not in INSTRUMENT_TYPES_BY_KEY:
        raise DemoDataError(f"{DATA_DIR / 'institutions.yaml'}, slug {_slug!r}: flagship {_key!r} is not "
                            "the key of an entry in instrument_types.yaml")

FIRMS: tuple[DemoFirm, ...] = tuple(
    DemoFirm(city=e["city"], name=e["name"], uscc=e["uscc"], tags=frozenset(e["tags"].split())) for e in entries("firms.yaml", FIRM)
)
# city code: (area code, number of local digits, typical leading digits of local numbers)
CITY_PHONES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    e["city"]: (e["area_code"], e["digits"], tuple(e["prefixes"])) for e in entries("city_phones.yaml", CITY_PHONE)
}
