"""Who runs the scheduler's jobs: one lease row per scheduler name."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..db_types import UTCDateTime
from ..extensions import db


class SchedulerLease(db.Model):
    """The elected scheduler (SQLite election; on PostgreSQL only a record of
    who holds the advisory lock, for operators)."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
