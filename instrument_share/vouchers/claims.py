"""Settlement: providers claim captured voucher money (兑付申请); the issuing
city's bureau reviews each line, then marks the claim paid."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..accounts.models import Institution, Role, User
from ..booking.models import Booking
from ..catalogue.models import Instrument
from ..database import lock, lock_all, lock_row
from ..errors import N_, Conflict, NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..timeutil import platform_zone, utcnow
from .models import (
    ClaimLineStatus,
    EntryKind,
    Voucher,
    VoucherClaim,
    VoucherClaimLine,
    VoucherEntry,
)
from .policy import can_file_claim, can_review_claim, can_see_claim, can_see_claims


def file_claim(user: User, issuing_city: str, first: date, last: date,
               institution_id: int | None = None) -> VoucherClaim:
    """A manager (or admin for an institution) claims every unclaimed capture of
    services that started in the period and were paid by that city's vouchers."""
    institution_id = user.institution_id if user.role == Role.MANAGER else institution_id
    if not can_file_claim(user, institution_id):
        raise PermissionDenied(N_("Only an institution's managers file voucher claims."))
    if db.session.get(Institution, institution_id) is None:
        raise NotFound(N_("No such institution."))
    if last < first:
        raise ValidationFailed(N_("The period is not valid."), {"to": [N_("The end must be after the start.")]})
    # Claims of one institution are filed one after the other: two at once
    # would both find the same unclaimed captures.
    lock_row("institutions", institution_id)
    zone = platform_zone()
    start, end = datetime.combine(first, time(), zone), datetime.combine(last + timedelta(days=1), time(), zone)
    entries = db.session.execute(
        unclaimed_captures(issuing_city, institution_id, start, end).order_by(VoucherEntry.id)).all()
    if not entries:
        raise Conflict(N_("Nothing to claim: no unclaimed voucher money in this period."), conflicts=[], suggestions=[])
    claim = VoucherClaim(institution_id=institution_id, issuing_city=issuing_city, period_from=first,
                         period_to=last, created_by_id=user.id)
    db.session.add(claim)
    db.session.flush()
    # One statement for all the lines: a claim for a busy year has thousands.
    db.session.execute(sa.insert(VoucherClaimLine),
                       [{"claim_id": claim.id, "entry_id": entry.id, "amount": entry.amount} for entry in entries])
    return claim


# Orders of entrusted testing sit above vouchers in the package layers: the
# ledger names them by id, and these queries see only the two columns they need.
ORDERS = sa.table("orders", sa.column("id"), sa.column("institution_id"))


def unclaimed_captures(issuing_city: str, institution_id: int, start: datetime, end: datetime) -> sa.Select:
    """The captures not yet claimed of the institution's services paid by the
    city's vouchers in [start, end): bookings that started then, and orders of
    entrusted testing whose report (the capture) came then."""
    return (
        sa.select(VoucherEntry.id, VoucherEntry.amount)
        .join(Voucher, VoucherEntry.voucher_id == Voucher.id)
        .outerjoin(Booking, VoucherEntry.booking_id == Booking.id)
        .outerjoin(Instrument, Booking.instrument_id == Instrument.id)
        .outerjoin(ORDERS, ORDERS.c.id == VoucherEntry.order_id)
        .where(VoucherEntry.kind == EntryKind.CAPTURE, Voucher.issuing_city == issuing_city,
               VoucherEntry.id.not_in(sa.select(VoucherClaimLine.entry_id)),
               sa.or_(sa.and_(Instrument.institution_id == institution_id, Booking.start >= start,
                              Booking.start < end),
                      sa.and_(ORDERS.c.institution_id == institution_id, VoucherEntry.at >= start,
                              VoucherEntry.at < end)))
    )


def get_claim(claim_id: int, user: User) -> VoucherClaim:
    """A claim the user may see; to anyone else it does not exist (404)."""
    claim = db.session.get(VoucherClaim, claim_id)
    if claim is None or not can_see_claim(user, claim):
        raise NotFound(N_("No such claim."))
    return claim


def _visible_claims(user: User) -> sa.Select | None:
    """The claims the user may see (None: none at all), with their lines and
    each line's ledger entry (three statements, not one per line)."""
    if not can_see_claims(user):
        return None
    query = sa.select(VoucherClaim).options(selectinload(VoucherClaim.lines).selectinload(VoucherClaimLine.entry))
    if user.role == Role.MANAGER:  # can_see_claim: the institution's own
        query = query.where(VoucherClaim.institution_id == user.institution_id)
    elif user.role == Role.CITY_ADMIN:  # can_see_claim: claims on the city's vouchers
        query = query.where(VoucherClaim.issuing_city == user.city_code)
    return query


def list_claims(user: User) -> list[VoucherClaim]:
    """Every claim the user may see, newest first."""
    query = _visible_claims(user)
    return [] if query is None else list(db.session.scalars(query.order_by(VoucherClaim.id.desc())))


def claims_page(user: User, page: int, per_page: int) -> tuple[list[VoucherClaim], int, int]:
    """One page of the claims the user may see: those not yet paid first (what
    is still to review or pay), then the paid, newest first within each;
    (claims, total, the page shown; past the end, the last)."""
    query = _visible_claims(user)
    if query is None:
        return [], 0, 1
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    page = min(max(1, page), max(1, -(-total // per_page)))
    rows = db.session.scalars(query.order_by(VoucherClaim.paid_on.is_not(None), VoucherClaim.id.desc())
                              .limit(per_page).offset((page - 1) * per_page))
    return list(rows), total, page


def _reviewer(claim: VoucherClaim, user: User) -> None:
    if not can_review_claim(user, claim):
        raise PermissionDenied(N_("Only the issuing city's bureau reviews this claim."))


def _locked_claim(claim: VoucherClaim) -> tuple[VoucherClaim, list[VoucherClaimLine]]:
    """The claim and its lines, locked and read again."""
    claim = lock(VoucherClaim, claim.id)
    lines = lock_all(sa.select(VoucherClaimLine).where(VoucherClaimLine.claim_id == claim.id))
    return claim, lines


def review_line(claim: VoucherClaim, line_id: int, user: User, approve: bool, reason: str = "") -> VoucherClaimLine:
    """The issuing city's bureau approves or rejects one line (a reason for a rejection)."""
    _reviewer(claim, user)
    if not approve and not (reason or "").strip():
        raise ValidationFailed(N_("Reason required."), {"reason": [N_("Say why the line is rejected.")]})
    claim, lines = _locked_claim(claim)
    line = next((line for line in lines if line.id == line_id), None)
    if line is None:
        raise NotFound(N_("No such claim line."))
    if claim.paid_on is not None or line.status != ClaimLineStatus.PENDING:
        raise Conflict(N_("This line has been decided already."), conflicts=[], suggestions=[])
    line.status = ClaimLineStatus.APPROVED if approve else ClaimLineStatus.REJECTED
    line.reason = (reason or "").strip()[:2000]
    line.reviewed_by_id, line.reviewed_at = user.id, utcnow()
    db.session.flush()
    return line


def mark_paid(claim: VoucherClaim, user: User, paid_on: date) -> VoucherClaim:
    """Once every line is decided, the bureau records the payment date."""
    _reviewer(claim, user)
    claim, lines = _locked_claim(claim)
    if claim.paid_on is not None:
        raise Conflict(N_("This claim is paid already."), conflicts=[], suggestions=[])
    if any(line.status == ClaimLineStatus.PENDING for line in lines):
        raise Conflict(N_("Decide every line before marking the claim paid."), conflicts=[], suggestions=[])
    claim.paid_on = paid_on
    db.session.flush()
    return claim
