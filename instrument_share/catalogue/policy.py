"""Who may do what with the catalogue (see accounts/policy.py for the layer)."""
from __future__ import annotations

from ..accounts.models import User
from ..accounts.policy import can_manage_institution
from .models import Instrument


def can_manage_instrument(user: User, instrument: Instrument) -> bool:
    """Change an instrument's record, hours, blackouts and qualifications,
    and read its history: its institution's managers and the joint office."""
    return can_manage_institution(user, instrument.institution_id)


def can_publish_instrument(user: User, institution_id: int | None) -> bool:
    """Publish a new instrument: the institution's managers and the joint office."""
    return can_manage_institution(user, institution_id)
