"""Demo catalogue of the G60 Science and Technology Innovation Corridor instrument platform.

Public interface::

    DemoInstitution, INSTITUTIONS   real institutions of the nine cities
    DemoFirm, FIRMS                 fictitious firms with valid USCCs, three per city
    build_instruments(seed=2026)    deterministic list of instrument records (dicts)

The data lives in ``data/*.yaml`` (read by ``institutions.py``,
``instrument_types.py`` and, for the catalogue texts, here); this module only
turns it into instrument records.  No database and no Flask.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import date
from decimal import Decimal

from ..catalogue.models import InstrumentStatus, QuotaClass
from .datafiles import section
from .institutions import (
    CITY_PHONES,
    FIRMS,
    INSTITUTIONS,
    MANDATORY,
    PROFILES,
    DemoFirm,
    DemoInstitution,
    InstitutionProfile,
)
from .instrument_types import INSTRUMENT_TYPES, INSTRUMENT_TYPES_BY_KEY, InstrumentType, Model

__all__ = [
    "DemoFirm",
    "DemoInstitution",
    "FIRMS",
    "INSTITUTIONS",
    "build_instruments",
]

STATUSES = tuple(InstrumentStatus)
_STATUS_WEIGHTS = (85, 8, 2.5, 1, 2, 1.5)

# relative boost of non-analytical categories in the random fill (analytical = 1.0,
# other categories 2.2 unless listed), so that analytical instruments make up ~60%
_FILL_BOOST = {"physical-testing": 1.0, "process-equipment": 1.6}

_WEEKDAYS = range(5)
_HOURS_PATTERNS: tuple[tuple[float, tuple[tuple[int, str, str], ...]], ...] = (
    (0.30, tuple((d, "08:30", "17:00") for d in _WEEKDAYS)),
    (0.20, tuple((d, "09:00", "17:30") for d in _WEEKDAYS)),
    (0.25, tuple(iv for d in _WEEKDAYS for iv in ((d, "08:30", "11:30"), (d, "13:30", "17:00")))),
    (0.15, tuple((d, "08:30", "17:00") for d in range(6))),
    (0.10, tuple((d, "08:30", "21:00") for d in _WEEKDAYS) + ((5, "09:00", "17:00"),)),
)
_LONG_HOURS = tuple((d, "08:00", "22:00") for d in range(7))
_NIGHT_HOURS = tuple((d, "18:00", "23:30") for d in range(7))

_TEXTS = "catalogue_texts.yaml"
_SAMPLE_RULES: dict[str, str] = section(_TEXTS, "sample_rules", {str: str})
_DEFAULT_SAMPLE_RULE: str = section(_TEXTS, "default_sample_rule", str)
_TRAINING_RULES: list[str] = section(_TEXTS, "training_rules", [str])
_DATA_RULES: list[str] = section(_TEXTS, "data_rules", [str])
# category code prefix: word in the names of the buildings preferred for it (first match)
_CATEGORY_SITE_HINTS: dict[str, str] = section(_TEXTS, "category_site_keywords", {str: str})
_SURNAMES: str = section(_TEXTS, "surnames", str)
_GIVEN: str = section(_TEXTS, "given_names", str)


def _money(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def _pick_model(rng: random.Random, itype: InstrumentType, since: int) -> tuple[Model, int, int]:
    usable = []
    for m in itype.models:
        lo, hi = max(2008, m.first_year, since), min(2025, m.last_year)
        if lo <= hi:
            usable.append((m, lo, hi))
    if not usable:  # custom equipment older than the institution's own horizon
        usable = [(m, max(2008, m.first_year), min(2025, m.last_year)) for m in itype.models]
    return rng.choice(usable)


def _pick_site(rng: random.Random, itype: InstrumentType, sites: tuple[str, ...]) -> str:
    hints = itype.site_hints
    if not hints:
        for prefix, keyword in _CATEGORY_SITE_HINTS.items():
            if itype.category.startswith(prefix) and rng.random() < 0.6:
                hints = (keyword,)
                break
    preferred = [s for s in sites if any(h in s for h in hints)]
    return rng.choice(preferred or list(sites))


def _staff(rng: random.Random, inst: DemoInstitution, count: int) -> list[tuple[str, str]]:
    area, digits, prefixes = CITY_PHONES[inst.city]
    same_city = [i for i in INSTITUTIONS if i.city == inst.city]
    prefix = prefixes[same_city.index(inst) % len(prefixes)]
    staff, names = [], set()
    while len(staff) < count:
        given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.7 else "")
        name = rng.choice(_SURNAMES) + given
        if name in names:
            continue
        names.add(name)
        rest = "".join(rng.choice("0123456789") for _ in range(digits - len(prefix)))
        staff.append((name, f"{area}-{prefix}{rest}"))
    return staff


def _eligible(itype: InstrumentType, inst: DemoInstitution, profile: InstitutionProfile) -> bool:
    if itype.weight <= 0 or not itype.tags & profile.tags:
        return False
    if inst.kind == "hospital" and not itype.tags & {"clinic", "med"}:
        return False
    # small colleges and hospitals do not own the expensive research instruments
    return profile.size >= 10 or itype.value[0] < 250


def _common(itype: InstrumentType) -> bool:
    return itype.category.startswith("analytical") or itype.category == "physical-testing"


def _fill_weight(itype: InstrumentType) -> float:
    if itype.category.startswith("analytical"):
        return itype.weight
    return itype.weight * _FILL_BOOST.get(itype.category, 2.2)


def _plan(rng: random.Random) -> dict[str, list[InstrumentType]]:
    """Which instrument types each institution gets."""
    plan: dict[str, list[InstrumentType]] = {inst.slug: [] for inst in INSTITUTIONS}
    for slug, key in MANDATORY:
        plan[slug].append(INSTRUMENT_TYPES_BY_KEY[key])
    for inst in INSTITUTIONS:
        profile = PROFILES[inst.slug]
        pool = [t for t in INSTRUMENT_TYPES if _eligible(t, inst, profile)]
        chosen = plan[inst.slug]
        counts = Counter(t.key for t in chosen)
        cap = 1 if profile.size <= 10 else 2 if profile.size <= 30 else 3
        while len(chosen) < profile.size:
            # several SEMs or HPLCs are common, several wind tunnels are not
            candidates = [t for t in pool if counts[t.key] < (cap if _common(t) else 1)]
            if not candidates:
                cap += 1
                continue
            itype = rng.choices(candidates, weights=[_fill_weight(t) for t in candidates])[0]
            chosen.append(itype)
            counts[itype.key] += 1
    return plan


def _hours(rng: random.Random, itype: InstrumentType) -> list[tuple[int, str, str]]:
    if itype.hours == "long":
        return list(_LONG_HOURS)
    if itype.hours == "night":
        return list(_NIGHT_HOURS)
    weights = [w for w, _ in _HOURS_PATTERNS]
    return list(rng.choices([p for _, p in _HOURS_PATTERNS], weights=weights)[0])


def _fees(rate: Decimal, itype: InstrumentType, min_minutes: int, vouchers: bool, kind: str) -> str:
    own = "本单位" if kind != "university" else "校内"
    share = 60 if kind == "university" else 80
    parts = [
        f"对外收费 {rate:.0f} 元/小时（含常规耗材及技术服务）",
        f"{own}用户按 {share}% 收取，即 {rate * share / 100:.0f} 元/小时",
        f"最小计费时长 {min_minutes} 分钟，不足部分按 {min_minutes} 分钟计",
    ]
    if itype.long_run:
        parts.append(f"连续使用超过 8 小时的机时按 {rate * Decimal('0.8'):.0f} 元/小时计")
    if itype.buffer == 30 and itype.category.startswith("analytical"):
        parts.append("制样、镀膜等前处理费用另计")
    parts.append("可使用长三角科技创新券抵扣" if vouchers else "本仪器暂不接受科技创新券结算")
    return "；".join(parts) + "。"


def _rules(rng: random.Random, itype: InstrumentType, notice: int, approval: bool) -> str:
    days = "一" if notice <= 24 else "两"
    first = f"需提前{days}天通过G60共享平台预约" + (
        "，经仪器负责人审核通过后方可使用" if approval else "，预约成功后按时到场使用"
    )
    parts = [
        first,
        rng.choice(_TRAINING_RULES),
        _SAMPLE_RULES.get(itype.category, _DEFAULT_SAMPLE_RULE),
        f"如需取消预约，请至少提前 {rng.choice((4, 12, 24))} 小时在平台操作，累计爽约三次将暂停预约资格一个月",
    ]
    if rng.random() < 0.5:
        parts.append(rng.choice(_DATA_RULES))
    return "；".join(parts) + "。"


def _record(rng: random.Random, inst: DemoInstitution, profile: InstitutionProfile, itype: InstrumentType,
            staff: list[tuple[str, str]]) -> dict:
    model, year_lo, year_hi = _pick_model(rng, itype, profile.since)
    year = rng.randint(year_lo, year_hi)
    commissioned = date(year, rng.randint(1, 12), rng.randint(1, 28))
    value = _money(rng.uniform(*itype.value))
    rate = Decimal(rng.randint(itype.rate[0] // 10, itype.rate[1] // 10) * 10).quantize(Decimal("0.01"))

    special = itype.special or (value >= 500 and rng.random() < 0.45) or (value >= 150 and rng.random() < 0.2)
    if itype.special:
        p_approval = 0.85
    elif value >= 500:
        p_approval = 0.55
    elif value >= 150:
        p_approval = 0.33
    else:
        p_approval = 0.2
    approval = rng.random() < p_approval
    vouchers = rng.random() < (0.65 if special else 0.84)
    notice = 48 if (special or value >= 1000 or rng.random() < 0.08) else 24

    # vacuum instruments and long runs are booked by the hour
    min_minutes = 60 if itype.buffer == 30 or itype.long_run else rng.choice((30, 30, 30, 60, 60))
    max_minutes = 1440 if itype.long_run else rng.choice((240, 360, 480, 480, 600, 720))

    status = rng.choices(STATUSES, weights=_STATUS_WEIGHTS)[0]
    if status == InstrumentStatus.AWAITING_SCRAP and year > 2018:
        status = InstrumentStatus.AWAITING_REPAIR

    site = _pick_site(rng, itype, profile.sites)
    floor = "B1" if (itype.buffer == 30 and rng.random() < 0.3) else str(rng.randint(1, 5))
    location = f"{site} {floor}{rng.randint(1, 28):02d}室"
    contact_name, contact_phone = rng.choice(staff)

    description = (
        f"该{itype.name}（{model.manufacturer} {model.model}）于{year}年投入使用，{itype.summary}。"
        f"仪器安放于{site}，已纳入G60科创走廊大型科研仪器开放共享平台，面向长三角企业和科研单位开放。"
    )
    services = itype.services
    if rng.random() < 0.4:
        services += "支持委托测试与培训后自主上机两种方式。"

    return {
        "institution": inst.name,
        "category": itype.category,
        "name": itype.name,
        "name_en": itype.name_en,
        "model": model.model,
        "manufacturer": model.manufacturer,
        "country_of_origin": model.country,
        "original_value": value,
        "commissioned_on": commissioned,
        "description": description,
        "specifications": itype.specifications,
        "functions": itype.functions,
        "services": services,
        "reference_fees": _fees(rate, itype, min_minutes, vouchers, inst.kind),
        "sharing_rules": _rules(rng, itype, notice, approval),
        "hourly_rate": rate,
        "status": status,
        "location": location,
        "contact_name": contact_name,
        "contact_phone": contact_phone,
        "contact_email": f"{itype.email}-lab@{inst.slug}.example",
        "min_booking_minutes": min_minutes,
        "max_booking_minutes": max_minutes,
        "buffer_minutes": itype.buffer,
        "advance_notice_hours": notice,
        "requires_approval": approval,
        "accepts_vouchers": vouchers,
        "quota_class": QuotaClass.SPECIAL if special else QuotaClass.GENERAL,
        "opening_hours": _hours(rng, itype),
    }


def build_instruments(seed: int = 2026) -> list[dict]:
    """Deterministic (random.Random(seed)) list of at least 650 instrument records."""
    rng = random.Random(seed)
    plan = _plan(rng)
    records: list[dict] = []
    for inst in INSTITUTIONS:
        profile = PROFILES[inst.slug]
        staff = _staff(rng, inst, max(2, len(plan[inst.slug]) // 4))
        for itype in plan[inst.slug]:
            records.append(_record(rng, inst, profile, itype, staff))
    return records
