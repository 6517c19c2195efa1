"""What the pages of entrusted testing read: one page of a user's orders,
the institution's order desk grouped by what each order waits for, and a
firm's open orders for its workspace. Every list is bounded and loads what
its page shows with it (a fixed number of statements, however many orders)."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..accounts.models import Institution, User
from ..accounts.policy import can_use_manager_desk, is_joint_office
from ..catalogue.models import Instrument
from ..errors import N_, NotFound, PermissionDenied
from ..extensions import db
from .models import Order, OrderStatus
from .services import list_orders

OPEN_STATUSES = (OrderStatus.SUBMITTED, OrderStatus.QUOTED, OrderStatus.ACCEPTED, OrderStatus.RECEIVED,
                 OrderStatus.REPORTED)
ENDED_STATUSES = (OrderStatus.CLOSED, OrderStatus.DECLINED, OrderStatus.WITHDRAWN, OrderStatus.REJECTED)
QUEUE_SHOWN = 100   # orders of one desk group shown; the rest are in /orders?status=…
RECENT_SHOWN = 20   # orders that ended lately, on the desk
WORKSPACE_SHOWN = 20


def orders_page(user: User, status: str | None, page: int, per_page: int) -> tuple[list[Order], int, int]:
    """One page of the orders `services.list_orders` lets the user see,
    newest first, with the total and the page shown (past the last page:
    the last)."""
    query = list_orders(user, status)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    last = max(1, -(-total // per_page))
    page = min(max(1, page), last)
    rows = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)).unique().all()
    return list(rows), total, page


def desk_institution(user: User, requested: int | None) -> Institution:
    """The institution whose orders the desk shows: a manager's own; for the
    joint office the requested one, else the first (as the manager desk)."""
    if not can_use_manager_desk(user):
        raise PermissionDenied(N_("The desk is for instrument managers."))
    if not is_joint_office(user):
        return db.session.get(Institution, user.institution_id)
    institution = db.session.get(Institution, requested) if requested else None
    institution = institution or db.session.scalar(sa.select(Institution).order_by(Institution.id).limit(1))
    if institution is None:
        raise NotFound(N_("No institution yet."))
    return institution


def desk_institutions(user: User) -> list[Institution]:
    """The institutions the joint office switches between (none for a manager)."""
    if not is_joint_office(user):
        return []
    return list(db.session.scalars(sa.select(Institution).order_by(Institution.id)))


@dataclass
class OrderDesk:
    institution: Institution
    to_quote: list[Order]      # submitted: the institution quotes or declines, oldest first
    quoted: list[Order]        # waiting for the firm's answer, soonest lapsing first
    to_receive: list[Order]    # accepted: the samples are on their way, oldest first
    in_testing: list[Order]    # received: the report is due, soonest (or most overdue) first
    reported: list[Order]      # waiting for the firm's rating
    ended: list[Order]         # closed, declined, withdrawn or rejected lately, newest first
    counts: dict[str, int] = field(default_factory=dict)  # status -> orders in it (all, not only shown)


def _orders(institution_id: int, statuses, order_by, most: int) -> list[Order]:
    return list(db.session.scalars(
        sa.select(Order).where(Order.institution_id == institution_id, Order.status.in_(statuses))
        .options(joinedload(Order.firm), joinedload(Order.instrument))
        .order_by(*order_by, Order.id).limit(most)))


def order_desk(user: User, requested_institution: int | None) -> OrderDesk:
    """The institution's orders grouped by what each waits for."""
    institution = desk_institution(user, requested_institution)
    counts = dict(db.session.execute(
        sa.select(Order.status, sa.func.count()).where(Order.institution_id == institution.id)
        .group_by(Order.status)).all())
    one = institution.id
    return OrderDesk(
        institution=institution,
        to_quote=_orders(one, (OrderStatus.SUBMITTED,), (Order.created_at,), QUEUE_SHOWN),
        quoted=_orders(one, (OrderStatus.QUOTED,), (Order.quote_valid_until,), QUEUE_SHOWN),
        to_receive=_orders(one, (OrderStatus.ACCEPTED,), (Order.updated_at,), QUEUE_SHOWN),
        in_testing=_orders(one, (OrderStatus.RECEIVED,), (Order.due_on,), QUEUE_SHOWN),
        reported=_orders(one, (OrderStatus.REPORTED,), (Order.updated_at,), QUEUE_SHOWN),
        ended=_orders(one, ENDED_STATUSES, (Order.updated_at.desc(),), RECENT_SHOWN),
        counts=counts,
    )


def firm_open_orders(user: User, most: int = WORKSPACE_SHOWN) -> list[Order]:
    """The firm's orders still under way, latest change first (the workspace)."""
    if user.firm_id is None:
        return []
    return list(db.session.scalars(
        sa.select(Order).where(Order.firm_id == user.firm_id, Order.status.in_(OPEN_STATUSES))
        .options(joinedload(Order.instrument).joinedload(Instrument.institution))
        .order_by(Order.updated_at.desc(), Order.id.desc()).limit(most)))
