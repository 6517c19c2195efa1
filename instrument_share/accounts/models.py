"""The corridor's parties: its cities, institutions, firms and users, and API tokens."""
from __future__ import annotations

import secrets
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db_types import UTCDateTime, sql_list
from ..extensions import db
from ..timeutil import utcnow
from . import passwords


class Role(StrEnum):
    """Who a user is (API.md, "Roles"); stored as its value."""

    FIRM = "firm"
    MANAGER = "manager"
    CITY_ADMIN = "city_admin"
    ADMIN = "admin"


ROLES = tuple(Role)
# Roles that belong to an organisation with members: a firm's staff, an
# institution's managers. Its administrators (`User.org_admin`) invite and
# deactivate the others (accounts/members.py).
MEMBER_ROLES = (Role.FIRM, Role.MANAGER)
LANGUAGES = ("zh_CN", "en")
SUSPENDED_SQL = "booking_suspended_at IS NOT NULL"  # the suspended users' partial index


class City(db.Model):
    """One of the nine G60 corridor cities; codes are fixed by API.md."""

    __tablename__ = "cities"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40))
    name_en: Mapped[str] = mapped_column(sa.String(60))
    province: Mapped[str] = mapped_column(sa.String(40))
    province_en: Mapped[str] = mapped_column(sa.String(60))
    # 行政区划代码: the first digits of a firm's USCC region part.
    division_code: Mapped[str] = mapped_column(sa.String(6))
    sort_order: Mapped[int] = mapped_column(sa.Integer)


class Institution(db.Model):
    """A university or institute that owns and shares instruments."""

    __tablename__ = "institutions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(200))
    city_code: Mapped[str] = mapped_column(sa.ForeignKey("cities.code"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="university")

    city: Mapped[City] = relationship()


class Firm(db.Model):
    """A company of one of the nine cities, known by its USCC."""

    __tablename__ = "firms"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)  # 统一社会信用代码
    city_code: Mapped[str] = mapped_column(sa.ForeignKey("cities.code"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    city: Mapped[City] = relationship()


class User(UserMixin, db.Model):
    """A person with one role; the role's anchor (firm, institution, city) is required."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {sql_list(Role)}", name="role"),
        sa.CheckConstraint(f"language IN {sql_list(LANGUAGES)}", name="language"),
        sa.CheckConstraint(f"role != '{Role.FIRM}' OR firm_id IS NOT NULL", name="firm_has_firm"),
        sa.CheckConstraint(
            f"role != '{Role.MANAGER}' OR institution_id IS NOT NULL", name="manager_has_institution"
        ),
        sa.CheckConstraint(
            f"role != '{Role.CITY_ADMIN}' OR city_code IS NOT NULL", name="city_admin_has_city"
        ),
        sa.CheckConstraint(f"NOT org_admin OR role IN {sql_list(MEMBER_ROLES)}", name="org_admin_has_org"),
        # The suspended users, in the order the manager's desk lists them
        # (desk.services.suspended_users_of): a handful among the corridor's
        # users, which the desk otherwise found by reading every user (issue #19).
        sa.Index("ix_users_suspended_email", "email", sqlite_where=sa.text(SUSPENDED_SQL),
                 postgresql_where=sa.text(SUSPENDED_SQL)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    role: Mapped[str] = mapped_column(sa.String(20))
    language: Mapped[str] = mapped_column(sa.String(5), default="zh_CN")
    firm_id: Mapped[int | None] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("institutions.id"), index=True
    )
    city_code: Mapped[str | None] = mapped_column(sa.ForeignKey("cities.code"))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    # Set when no-shows reach the limit; a manager lifts it (booking rules).
    booking_suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # No-shows before this moment no longer count towards a suspension.
    violations_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The secret feed URL is an HMAC of the user id and this nonce under the
    # SECRET_KEY: the database alone reveals no feed URL; a new nonce resets it.
    feed_nonce: Mapped[str] = mapped_column(sa.String(32), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the owner of the address followed the link we mailed; None: not yet
    # (a self-registered firm user who may sign in and look, but not book).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Consecutive failed sign-ins, counted by one atomic UPDATE per failure;
    # at LOGIN_LOCK_AFTER the account is locked until `login_locked_until`.
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    login_locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Part of every session's user id ("id:generation"): raising it ends every
    # session of the user, copies of the cookie included (accounts/services.py).
    session_generation: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    # The administrator of the user's firm (firm users) or institution
    # (managers): invites colleagues and deactivates members. The first member
    # of an organisation is one (accounts/services.create_user).
    org_admin: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    # Who deactivated the member and when (accounts/members.py); cleared when they come back.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    firm: Mapped[Firm | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    deactivated_by: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[deactivated_by_id])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def firm_admin(self) -> bool:
        return self.role == Role.FIRM and self.org_admin

    @property
    def institution_admin(self) -> bool:
        return self.role == Role.MANAGER and self.org_admin

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session: the id and the session
        generation, so that the user loader refuses a session of an earlier
        generation (accounts/views.py, `load_user`)."""
        return f"{self.id}:{self.session_generation or 0}"

    def set_password(self, password: str) -> None:
        self.password_hash = passwords.hash_password(password)

    def check_password(self, password: str) -> bool:
        return passwords.verify_password(self.password_hash, password)


class ApiToken(db.Model):
    """A bearer token; only its SHA-256 is stored, so a database leak reveals none."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The platform day it was last used: written at most once a day per token
    # (accounts/services.token_row), so a GET stays a read almost always.
    last_used_on: Mapped[date | None] = mapped_column(sa.Date)

    user: Mapped[User] = relationship()


class Invitation(db.Model):
    """A mailed invitation to join a firm (as a firm user) or an institution
    (as a manager). Only the SHA-256 of its link's secret is stored; it
    works once, until `expires_at`."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.CheckConstraint(f"role IN {sql_list(MEMBER_ROLES)}", name="role"),
        sa.CheckConstraint(
            f"(role = '{Role.FIRM}' AND firm_id IS NOT NULL AND institution_id IS NULL) OR "
            f"(role = '{Role.MANAGER}' AND institution_id IS NOT NULL AND firm_id IS NULL)",
            name="one_organisation",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), index=True)
    role: Mapped[str] = mapped_column(sa.String(20))
    firm_id: Mapped[int | None] = mapped_column(sa.ForeignKey("firms.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(sa.ForeignKey("institutions.id"), index=True)
    invited_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    firm: Mapped[Firm | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    invited_by: Mapped[User] = relationship()
