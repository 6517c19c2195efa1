"""Who may see which statistics (see accounts/policy.py for the layer).

Decided: the flow matrix follows the same scope as every other figure, on
the dashboard as in the API (the dashboard used to hide it from managers
while /api/v1/stats/flows served it): a manager sees which cities' firms
use the institution's instruments, a bureau every flow its city takes part
in, the joint office the corridor's.
"""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from ..accounts.models import Institution, Role, User
from ..accounts.policy import can_see_statistics
from ..errors import N_, PermissionDenied
from ..extensions import db


@dataclass(frozen=True)
class Scope:
    """What a user may see: one institution, one city (as provider), or all."""

    institution_id: int | None = None
    city: str | None = None

    @property
    def label(self) -> str:
        return f"institution {self.institution_id}" if self.institution_id else self.city or "corridor"


def stats_scope(user: User, institution_id: int | None = None, city: str | None = None) -> Scope:
    """The figures a user may see, narrowed to what they asked for: the
    joint office anything, a manager their institution, a city bureau its
    city (or one institution of it); asking for another scope is refused
    (403), and so is a role without statistics."""
    if not can_see_statistics(user):
        raise PermissionDenied(N_("Your role has no statistics."))
    if user.role == Role.ADMIN:
        return Scope(institution_id=institution_id, city=city)
    if user.role == Role.MANAGER:
        if (institution_id not in (None, user.institution_id)) or city is not None:
            raise PermissionDenied(N_("Managers see the figures of their own institution only."))
        return Scope(institution_id=user.institution_id)
    institution_city = (
        db.session.scalar(sa.select(Institution.city_code).where(Institution.id == institution_id))
        if institution_id is not None else user.city_code
    )
    if city not in (None, user.city_code) or institution_city != user.city_code:
        raise PermissionDenied(N_("City bureaus see the figures of their own city only."))
    return Scope(institution_id=institution_id, city=user.city_code)


def can_see_flows(user: User) -> bool:
    """The flow matrix: whoever sees statistics, within their scope (see above)."""
    return can_see_statistics(user)
