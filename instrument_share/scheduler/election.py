"""Electing the one scheduler that runs jobs, however many are started.

PostgreSQL: a session advisory lock held on a dedicated connection; it is
released by the server the moment that process or its connection dies.
SQLite: a lease row, taken and renewed in writer transactions; a scheduler
that stops renewing loses it when the lease expires.
"""
from __future__ import annotations

import os
import socket
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from ..database import begin_write_transaction
from ..extensions import db
from ..timeutil import utcnow
from .models import SchedulerLease

LEASE_NAME = "scheduler"
ADVISORY_KEY = 6060_2026  # any constant shared by all schedulers of one database


def holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Elector:
    def __init__(self, lease_seconds: int):
        self.lease = timedelta(seconds=lease_seconds)
        self.me = holder_id()
        self.connection = None

    @property
    def postgres(self) -> bool:
        return db.engine.dialect.name == "postgresql"

    def try_acquire(self) -> bool:
        """Become the leader if nobody is; True when this process leads."""
        if self.postgres:
            if self.connection is None:
                self.connection = db.engine.connect()
            got = self.connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": ADVISORY_KEY}).scalar()
            self.connection.commit()
            if got:
                self._record()
            return bool(got)
        return self._take_lease()

    def renew(self) -> bool:
        """Keep leading; False when the lead was lost (the process must stop)."""
        if self.postgres:
            try:
                self.connection.execute(sa.text("SELECT 1"))
                self.connection.commit()
            except sa.exc.DBAPIError:
                return False
            self._record()
            return True
        return self._take_lease()

    def release(self) -> None:
        if self.postgres and self.connection is not None:
            try:
                self.connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_KEY})
                self.connection.commit()
            finally:
                self.connection.close()
                self.connection = None
            return
        begin_write_transaction()
        lease = db.session.get(SchedulerLease, LEASE_NAME)
        if lease is not None and lease.holder == self.me:
            db.session.delete(lease)
        db.session.commit()

    def _take_lease(self) -> bool:
        begin_write_transaction()
        now = utcnow()
        lease = db.session.get(SchedulerLease, LEASE_NAME)
        if lease is not None and lease.holder != self.me and lease.expires_at > now:
            db.session.rollback()
            return False
        if lease is None:
            lease = SchedulerLease(name=LEASE_NAME, holder=self.me, expires_at=now + self.lease)
            db.session.add(lease)
        lease.holder, lease.expires_at = self.me, now + self.lease
        db.session.commit()
        return True

    def _record(self) -> None:
        begin_write_transaction()
        lease = db.session.get(SchedulerLease, LEASE_NAME) or SchedulerLease(name=LEASE_NAME)
        lease.holder, lease.expires_at = self.me, utcnow() + self.lease
        db.session.add(lease)
        db.session.commit()


def current_leader() -> str | None:
    lease = db.session.get(SchedulerLease, LEASE_NAME)
    return lease.holder if lease is not None and lease.expires_at > utcnow() else None


def lease_seconds() -> int:
    return int(current_app.config["SCHEDULER_LEASE_SECONDS"])
