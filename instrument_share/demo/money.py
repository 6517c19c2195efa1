"""The demo's voucher money: every city's bureau grants its firms vouchers at
the start of the history; firms pay part of their bookings with them (held
at booking, captured with the usage, given back when a booking is
cancelled or missed); institutions claim what was captured, quarter by
quarter, and the bureaus have paid the old quarters, approved part of the
last one and not yet looked at the current one. Written on the ledger's
own terms (integrity.py's invariants hold), as rows.
"""
from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import sqlalchemy as sa

from ..accounts.models import Firm, Role, User
from ..booking.models import BookingStatus
from ..bulk import TEXT, insert_dicts
from ..catalogue.models import Instrument
from ..database import move_sequences_past_ids
from ..db_types import to_money
from ..extensions import db
from ..timeutil import platform_zone
from ..vouchers.models import (
    ClaimLineStatus,
    EntryKind,
    Voucher,
    VoucherClaim,
    VoucherEntry,
    VoucherStatus,
)
from .bookings import HISTORY_DAYS, D, M, T

USE_VOUCHER = 0.07  # of a firm's bookings on an instrument that takes vouchers: the year's grant lasts
REJECTED_LINE = 0.04
ACTIVE = (BookingStatus.PENDING, BookingStatus.CONFIRMED)


@dataclass
class Ledger:
    vouchers: list[dict] = field(default_factory=list)
    entries: list[dict] = field(default_factory=list)


def grant_vouchers(rng: random.Random, now: datetime, first_id: int) -> tuple[Ledger, dict[tuple[int, int], dict]]:
    """Each demo firm's vouchers from its city's bureau, one a year, valid
    for the calendar year (the first from when the history starts): last
    year's have expired. Returns the rows and the vouchers by (firm, year)."""
    bureaus = {user.city_code: user.id for user in db.session.scalars(
        sa.select(User).where(User.role == Role.CITY_ADMIN).order_by(User.id.desc()))}
    zone = platform_zone()
    start = now - timedelta(days=HISTORY_DAYS + 3)
    ledger, by_firm_year, next_id = Ledger(), {}, first_id
    for firm in db.session.scalars(sa.select(Firm).order_by(Firm.id)):
        bureau = bureaus.get(firm.city_code)
        if bureau is None:
            continue
        for year in range(start.astimezone(zone).year, now.astimezone(zone).year + 1):
            granted_at = max(start, datetime.combine(date(year, 1, 5), time(10), zone))
            amount = Decimal(rng.choice((100_000, 150_000, 200_000, 300_000))).quantize(Decimal("0.01"))
            voucher = {"id": next_id, "firm_id": firm.id, "issuing_city": firm.city_code, "amount": amount,
                       "balance": amount, "expires_on": date(year, 12, 31),
                       "max_share": rng.choice((3000, 5000, 5000, 7000)), "status": VoucherStatus.ACTIVE,
                       "created_by_id": bureau, "created_at": granted_at}
            ledger.vouchers.append(voucher)
            ledger.entries.append({"voucher_id": next_id, "booking_id": None, "kind": EntryKind.GRANT,
                                   "delta": amount, "amount": amount, "actor_id": bureau, "at": granted_at})
            by_firm_year[(firm.id, year)] = voucher
            next_id += 1
    return ledger, by_firm_year


def spend(rng: random.Random, ledger: Ledger, by_firm_year: dict[tuple[int, int], dict], bookings: list[dict],
          instruments: dict[int, Instrument]) -> None:
    """Firms pay part of their bookings with the voucher of the booking's
    year (granted before they booked), in the order they booked, while
    money is left: a hold at booking, then a capture of the share of the
    hours used (the rest released) or a release if the booking was
    cancelled or missed. Sets the bookings' voucher parts."""
    zone = platform_zone()
    for row in sorted(bookings, key=lambda r: r["created_at"]):
        voucher = by_firm_year.get((row["firm_id"], row["start"].astimezone(zone).year))
        if voucher is None or voucher["created_at"] > row["created_at"] \
                or row["end"].astimezone(zone).date() > voucher["expires_on"] \
                or not instruments[row["instrument_id"]].accepts_vouchers or rng.random() > USE_VOUCHER:
            continue
        share = Decimal(voucher["max_share"]) / 10000
        part = min(to_money(row["cost"] * share), voucher["balance"])
        if part <= 0:
            continue
        voucher["balance"] -= part
        entry = {"voucher_id": voucher["id"], "booking_id": row["id"], "actor_id": row["user_id"]}
        ledger.entries.append({**entry, "kind": EntryKind.HOLD, "delta": -part, "amount": part,
                               "at": row["created_at"]})
        row["voucher_id"] = voucher["id"]
        if row["status"] in ACTIVE:
            kept = part
        elif row["status"] == BookingStatus.COMPLETED:
            rate = instruments[row["instrument_id"]].hourly_rate
            used = Decimal((row["used_end"] - row["used_start"]).total_seconds()) / 3600
            kept = min(part, to_money(to_money(rate * used) * share))
            ledger.entries.append({**entry, "kind": EntryKind.CAPTURE, "delta": Decimal("0.00"), "amount": kept,
                                   "at": row["used_end"]})
        else:
            kept = Decimal("0.00")
        if part > kept:
            voucher["balance"] += part - kept
            ledger.entries.append({**entry, "kind": EntryKind.RELEASE, "delta": part - kept, "amount": part - kept,
                                   "at": row["updated_at"]})
        row["voucher_amount"], row["firm_pays"] = kept, row["cost"] - kept


VOUCHER_COLUMNS = {"id": None, "firm_id": None, "issuing_city": None, "amount": M, "balance": M, "expires_on": D,
                   "max_share": None, "status": TEXT, "created_by_id": None, "created_at": T}
ENTRY_COLUMNS = {"voucher_id": None, "booking_id": None, "kind": TEXT, "delta": M, "amount": M, "actor_id": None,
                 "at": T}
CLAIM_COLUMNS = {"id": None, "institution_id": None, "issuing_city": None, "period_from": D, "period_to": D,
                 "created_by_id": None, "created_at": T, "paid_on": D}
LINE_COLUMNS = {"claim_id": None, "entry_id": None, "amount": M, "status": TEXT, "reason": None,
                "reviewed_by_id": None, "reviewed_at": T}


def write_vouchers(ledger: Ledger) -> None:
    """Before the bookings, which name their vouchers."""
    insert_dicts("vouchers", VOUCHER_COLUMNS, ledger.vouchers)
    move_sequences_past_ids("vouchers")


def write_entries(ledger: Ledger) -> None:
    """After the bookings, which the entries name."""
    insert_dicts("voucher_entries", ENTRY_COLUMNS, ledger.entries)
    move_sequences_past_ids("voucher_entries")


def _quarter(day: date) -> tuple[date, date]:
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    following = date(first.year + (first.month + 2) // 12, (first.month + 2) % 12 + 1, 1)
    return first, following - timedelta(days=1)


def file_claims(rng: random.Random, now: datetime, bookings: dict[int, dict], instruments: dict[int, Instrument]
                ) -> int:
    """Claims of the captures, per institution, issuing city and quarter of
    the bookings' start: quarters ended more than three months ago are
    paid (a few lines rejected), the last ended quarter is partly approved,
    the current one is filed for some institutions and not yet claimed by
    the others. Returns how many claims."""
    zone, today = platform_zone(), now.astimezone(platform_zone()).date()
    bureaus = {user.city_code: user.id for user in db.session.scalars(
        sa.select(User).where(User.role == Role.CITY_ADMIN).order_by(User.id.desc()))}
    admins = {user.institution_id: user.id for user in db.session.scalars(
        sa.select(User).where(User.role == Role.MANAGER, User.org_admin).order_by(User.id.desc()))}
    captures = db.session.execute(
        sa.select(VoucherEntry.id, VoucherEntry.amount, VoucherEntry.booking_id, Voucher.issuing_city)
        .join(Voucher, Voucher.id == VoucherEntry.voucher_id)
        .where(VoucherEntry.kind == EntryKind.CAPTURE, VoucherEntry.booking_id.is_not(None))
        .order_by(VoucherEntry.id)).all()
    groups: dict[tuple, list] = defaultdict(list)
    for entry_id, amount, booking_id, city in captures:
        booking = bookings[booking_id]
        institution_id = instruments[booking["instrument_id"]].institution_id
        quarter = _quarter(booking["start"].astimezone(zone).date())
        groups[(institution_id, city, quarter)].append((entry_id, amount))
    current, last_ended = _quarter(today), _quarter(_quarter(today)[0] - timedelta(days=1))
    claims, lines = [], []
    next_claim = (db.session.scalar(sa.select(sa.func.max(VoucherClaim.id))) or 0) + 1
    for (institution_id, city, (first, last)), entries in sorted(groups.items()):
        if (first, last) == current:
            if rng.random() < 0.5:
                continue  # not claimed yet: the institution's managers can file it
            state = "filed"
            last = min(last, today - timedelta(days=1))
        elif (first, last) == last_ended:
            state = "partly approved"
        else:
            state = "paid"
        filed_at = datetime.combine(last + timedelta(days=rng.randint(3, 15)), time(10), zone)
        reviewed_at = filed_at + timedelta(days=rng.randint(5, 20))
        claims.append({"id": next_claim, "institution_id": institution_id, "issuing_city": city,
                       "period_from": first, "period_to": last, "created_by_id": admins.get(institution_id),
                       "created_at": min(filed_at, now),
                       "paid_on": (reviewed_at + timedelta(days=rng.randint(10, 30))).date()
                       if state == "paid" else None})
        for number, (entry_id, amount) in enumerate(entries):
            if state == "filed" or (state == "partly approved" and number % 2):
                status, reason = ClaimLineStatus.PENDING, ""
            elif rng.random() < REJECTED_LINE:
                status, reason = ClaimLineStatus.REJECTED, "服务记录与发票信息不一致"
            else:
                status, reason = ClaimLineStatus.APPROVED, ""
            decided = status != ClaimLineStatus.PENDING
            lines.append({"claim_id": next_claim, "entry_id": entry_id, "amount": amount, "status": status,
                          "reason": reason, "reviewed_by_id": bureaus.get(city) if decided else None,
                          "reviewed_at": min(reviewed_at, now) if decided else None})
        next_claim += 1
    insert_dicts("voucher_claims", CLAIM_COLUMNS, claims)
    insert_dicts("voucher_claim_lines", LINE_COLUMNS, lines)
    move_sequences_past_ids("voucher_claims", "voucher_claim_lines")
    return len(claims)
