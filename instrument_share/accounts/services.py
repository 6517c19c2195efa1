"""Account rules: who may exist, how they sign in, how API tokens work.

Sign-in (`authenticate`) counts consecutive failures per account in the
database with one atomic UPDATE, so every worker and host counts together;
at LOGIN_LOCK_AFTER failures the account is locked for LOGIN_LOCK_MINUTES
and its owner is mailed. Every attempt costs one password verification,
whether the address is known, unknown, locked or malformed (passwords.py).

Registration (`register_firm_user`) never tells whether an address is
registered: it always ends in "check your mail"; the mail says what
happened. Sessions carry the user's `session_generation`; raising it
(`end_all_sessions`) ends every session of the user at once.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import ValidationError as StdnumError

from ..database import begin_write_transaction, is_postgres
from ..errors import N_, NotAuthenticated, NotFound, ValidationFailed
from ..extensions import db
from ..timeutil import utcnow
from ..transaction import commit_before_refusal
from . import mails, passwords
from .models import LANGUAGES, MEMBER_ROLES, ROLES, ApiToken, City, Firm, Institution, Role, User

LOGIN_FAILED = N_("Wrong e-mail address or password.")
VERIFICATION_DAYS = 1  # a verification link is valid for 24 hours
VERIFY_PATH = "/verify-email/"
LINK_INVALID = N_("This confirmation link is not valid. Copy the whole link from the mail, "
                  "or sign in and have a new one sent.")
LINK_EXPIRED = N_("This confirmation link has expired (links are valid for 24 hours). "
                  "Sign in and have a new one sent.")
LINK_USED = N_("This confirmation link has already been used. Sign in with your e-mail address and password.")


def normalise_email(email: str) -> str:
    """A syntactically valid address, lower-cased; raises ValidationFailed."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            N_("Invalid e-mail address."), {"email": [N_("Not a valid e-mail address.")]}
        ) from exc
    return result.normalized.lower()


def normalise_uscc(code: str) -> str:
    """A valid 统一社会信用代码 (18 characters, check digit verified)."""
    try:
        return uscc_number.validate((code or "").strip().upper())
    except StdnumError as exc:
        raise ValidationFailed(
            N_("Invalid Unified Social Credit Code."),
            {"uscc": [N_("Not a valid Unified Social Credit Code (check digit).")]},
        ) from exc


def _city(code: str | None, field: str = "city") -> City:
    city = db.session.get(City, code) if code else None
    if city is None:
        raise ValidationFailed(N_("Unknown city."), {field: [f"Unknown city code: {code!r}."]})
    return city


def find_or_create_firm(name: str, uscc: str, city_code: str) -> Firm:
    """The firm with this USCC, created when new. The USCC is the firm's identity."""
    code = normalise_uscc(uscc)
    firm = db.session.scalar(sa.select(Firm).where(Firm.uscc == code))
    if firm is not None:
        return firm
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed(N_("Firm name required."), {"firm_name": [N_("Give the firm's name.")]})
    firm = Firm(name=name, uscc=code, city_code=_city(city_code).code)
    db.session.add(firm)
    return firm


def create_user(
    *,
    email: str,
    password: str,
    role: str,
    name: str = "",
    firm: Firm | None = None,
    institution_id: int | None = None,
    city_code: str | None = None,
    language: str = "zh_CN",
    email_verified: bool = True,
    password_hash: str | None = None,
    org_admin: bool | None = None,
) -> User:
    """A new user; each role needs its anchor (firm, institution or city).

    Users made by the joint office (CLI, demo loader) have a verified address;
    self-registration passes `email_verified=False` and the hash it made
    before taking the write lock. The first member of a firm or institution
    administers it, unless `org_admin` says otherwise. Flushes only: the caller's transaction
    decides.
    """
    errors: dict[str, list[str]] = {}
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = [N_("This e-mail address is already registered.")]
    if password_hash is None and (weak := passwords.weakness(password)):
        errors["password"] = [weak]
    if role not in ROLES:
        errors["role"] = [f"One of {', '.join(ROLES)}."]
    if language not in LANGUAGES:
        errors["language"] = [f"One of {', '.join(LANGUAGES)}."]
    if role == Role.FIRM and firm is None:
        errors["firm"] = ["A firm user needs a firm."]
    if role == Role.MANAGER and (
        institution_id is None or db.session.get(Institution, institution_id) is None
    ):
        errors["institution"] = ["A manager needs an existing institution."]
    if role == Role.CITY_ADMIN and (city_code is None or db.session.get(City, city_code) is None):
        errors["city"] = ["A city administrator needs one of the nine city codes."]
    if org_admin and role not in MEMBER_ROLES:
        errors["org_admin"] = ["Only firm users and managers administer an organisation."]
    if errors:
        raise ValidationFailed(N_("The user could not be created."), errors)
    user = User(
        email=email,
        name=(name or email.split("@")[0])[:100],
        role=role,
        firm=firm,
        institution_id=institution_id,
        city_code=city_code if role == Role.CITY_ADMIN else None,
        language=language,
        email_verified_at=utcnow() if email_verified else None,
        org_admin=_is_first_member(role, firm, institution_id) if org_admin is None else org_admin,
    )
    if password_hash is None:
        user.set_password(password)
    else:
        user.password_hash = password_hash
    db.session.add(user)
    db.session.flush()
    return user


def _is_first_member(role: str, firm: Firm | None, institution_id: int | None) -> bool:
    """The first user of a firm, the first manager of an institution: its
    administrator (API.md, "Firm colleagues")."""
    if role == Role.FIRM:
        anchor = User.firm_id == firm.id if firm.id is not None else None
    elif role == Role.MANAGER:
        anchor = User.institution_id == institution_id
    else:
        return False
    if anchor is None:  # a firm made in this transaction has no members yet
        return True
    return db.session.scalar(sa.select(User.id).where(anchor, User.role == role).limit(1)) is None


def _registration_errors(email, password, name, firm_name, uscc, city_code) -> tuple[dict, str, str]:
    """Everything about a registration that needs no database but the city list."""
    errors: dict[str, list[str]] = {}
    try:
        email = normalise_email(email)
    except ValidationFailed as error:
        errors.update(error.fields)
    if weak := passwords.weakness(password):
        errors["password"] = [weak]
    if not (name or "").strip():
        errors["name"] = [N_("Give your name.")]
    if not (firm_name or "").strip() or len(firm_name.strip()) > 200:
        errors["firm_name"] = [N_("Give the firm's name.")]
    code = ""
    try:
        code = normalise_uscc(uscc)
    except ValidationFailed as error:
        errors.update(error.fields)
    if not city_code or db.session.get(City, city_code) is None:
        errors["city"] = [N_("Choose one of the nine cities.")]
    return errors, email, code


def _firm_registered() -> ValidationFailed:
    return ValidationFailed(
        N_("This firm is already registered."),
        {"uscc": [N_("This firm is already registered; ask the joint office to add you.")]},
    )


def lock_name(kind: str, value: str) -> None:
    """Lock a row that does not exist yet by its name until the commit, so two
    registrations of one address (or USCC) are served one after the other
    instead of the second failing on the unique index. PostgreSQL: a
    transaction advisory lock; SQLite: the writer transaction already is one."""
    if is_postgres():
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
                           {"key": f"register:{kind}:{value}"})


def _firm_taken(code: str) -> bool:
    return db.session.scalar(sa.select(Firm.id).where(Firm.uscc == code)) is not None


def register_firm_user(
    *, email: str, password: str, name: str, firm_name: str, uscc: str, city_code: str,
    language: str = "zh_CN", now: datetime | None = None,
) -> None:
    """Self-registration of a firm's engineer; the answer never tells whether
    the address is registered.

    A new address gets an unverified account (it may sign in and look, not
    book) and a mail with a link that confirms it. An address that is already
    registered changes nothing but a mail to its owner, who learns that
    someone tried. Both ways hash one password and queue one mail, so they
    take the same time. The caller shows the same "check your mail" page.

    A USCC that is already registered is refused on the form: which firms
    are registered is public (the national enterprise credit register), and
    joining an existing firm would give a stranger its vouchers, so
    colleagues are added by the joint office (CLI) instead.
    """
    now = now or utcnow()
    errors, email, code = _registration_errors(email, password, name, firm_name, uscc, city_code)
    if errors:
        raise ValidationFailed(N_("The registration could not be accepted."), errors)
    if _firm_taken(code):
        raise _firm_registered()
    # The one slow step, the same either way, and before the write lock.
    password_hash = passwords.hash_password(password)
    begin_write_transaction()
    lock_name("uscc", code)
    lock_name("email", email)
    if _firm_taken(code):  # again, under the lock
        raise _firm_registered()
    owner = db.session.scalar(sa.select(User).where(User.email == email))
    if owner is not None:
        mails.registration_attempted(owner, now)
        return
    firm = Firm(name=firm_name.strip(), uscc=code, city_code=city_code)
    db.session.add(firm)
    user = create_user(email=email, password=password, password_hash=password_hash, name=name.strip(),
                       role=Role.FIRM, firm=firm, language=language, email_verified=False)
    mails.confirm_address(user, verification_link(user, now), now)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="verify-email")


def verification_link(user: User, now: datetime) -> str:
    """A signed link naming the user, the address and the time it was made.
    It works once: following it verifies the address, after which every link
    of that address is refused as used."""
    token = _serializer().dumps([user.id, user.email, int(now.timestamp())])
    return current_app.config["PLATFORM_URL"].rstrip("/") + VERIFY_PATH + token


def check_verification_token(token: str, now: datetime | None = None) -> User:
    """The unverified user a link is for; ValidationFailed when it is forged,
    expired or used. Reads only."""
    now = now or utcnow()
    try:
        user_id, email, issued = _serializer().loads(token)
        issued_at = datetime.fromtimestamp(int(issued), UTC)
        user_id = int(user_id)
    except (BadSignature, TypeError, ValueError, OverflowError):
        raise ValidationFailed(LINK_INVALID, {"token": [LINK_INVALID]}) from None
    if now - issued_at > timedelta(days=VERIFICATION_DAYS) or issued_at > now + timedelta(minutes=5):
        raise ValidationFailed(LINK_EXPIRED, {"token": [LINK_EXPIRED]})
    user = db.session.get(User, user_id)
    if user is None or user.email != email or not user.active:
        raise ValidationFailed(LINK_INVALID, {"token": [LINK_INVALID]})
    if user.email_verified_at is not None:
        raise ValidationFailed(LINK_USED, {"token": [LINK_USED]})
    return user


def verify_email(token: str, now: datetime | None = None) -> User:
    """Mark the address of a valid link verified; the link is then used up."""
    now = now or utcnow()
    user = check_verification_token(token, now)
    user_id, email = user.id, user.email
    begin_write_transaction()
    done = db.session.execute(
        sa.update(User)
        .where(User.id == user_id, User.email == email, User.email_verified_at.is_(None))
        .values(email_verified_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # another request followed the link first
        raise ValidationFailed(LINK_USED, {"token": [LINK_USED]})
    user = db.session.get(User, user_id)
    db.session.refresh(user)
    return user


def resend_verification(user_id: int, now: datetime | None = None) -> str:
    """Send the confirmation mail again: "verified" (nothing to do), "sent",
    or "recent" (one went out in the last ten minutes; no new one)."""
    now = now or utcnow()
    begin_write_transaction()
    user = db.session.get(User, user_id)
    if user is None or user.email_verified_at is not None:
        return "verified"
    sent = mails.confirm_address(user, verification_link(user, now), now)
    return "sent" if sent else "recent"


# --- signing in ----------------------------------------------------------------

def authenticate(email: str, password: str, *, now: datetime | None = None) -> User | None:
    """The active user with this email and password, else None: one answer for
    an unknown address, a wrong password and a locked account.

    Each call verifies exactly one password hash (the user's, or a dummy of the
    same method), so the time taken tells nothing either. A wrong password
    counts a failure in the database; a locked account is not checked at all
    until its lock runs out, so guessing on while locked learns nothing.
    """
    now = now or utcnow()
    password = password or ""
    try:
        email = normalise_email(email)
    except ValidationFailed:
        passwords.verify_nothing(password)
        return None
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active or is_locked(user, now):
        passwords.verify_nothing(password)
        return None
    if not user.check_password(password):
        count_failed_sign_in(user.id, now)
        return None
    if user.failed_logins or user.login_locked_until is not None:
        clear_login_lock(user.id)
    return user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return user.login_locked_until is not None and user.login_locked_until > (now or utcnow())


def count_failed_sign_in(user_id: int, now: datetime) -> None:
    """One failed sign-in, counted by one conditional UPDATE (atomic on both
    engines: PostgreSQL re-reads the row it waited for, SQLite has one
    writer). The failure that reaches the limit sets the lock and restarts
    the count, and only that request mails the owner. Failures while locked
    are not counted."""
    limit = current_app.config["LOGIN_LOCK_AFTER"]
    until = now + timedelta(minutes=current_app.config["LOGIN_LOCK_MINUTES"])
    reached = User.failed_logins + 1 >= limit
    begin_write_transaction()
    row = db.session.execute(
        sa.update(User)
        .where(User.id == user_id,
               sa.or_(User.login_locked_until.is_(None), User.login_locked_until <= now))
        .values(
            failed_logins=sa.case((reached, 0), else_=User.failed_logins + 1),
            login_locked_until=sa.case(
                (reached, sa.bindparam("until", until, type_=User.login_locked_until.type)),
                else_=User.login_locked_until,
            ),
        )
        .returning(User.failed_logins, User.login_locked_until)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is not None and row.failed_logins == 0 and row.login_locked_until is not None:
        user = db.session.get(User, user_id)
        mails.account_locked(user, limit, until, now)
    commit_before_refusal()  # the "wrong password" answer that follows must not undo the count


def clear_login_lock(user_id: int) -> None:
    """Reset the failure count and lift a lock. A successful sign-in calls it;
    so should a completed password reset (issue #17)."""
    begin_write_transaction()
    db.session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(failed_logins=0, login_locked_until=None)
        .execution_options(synchronize_session=False)
    )


# --- sessions and tokens -----------------------------------------------------------

def end_all_sessions(user_id: int) -> None:
    """Every browser session of the user stops working at its next request
    (logout; a password change, issue #17)."""
    begin_write_transaction()
    db.session.execute(
        sa.update(User)
        .where(User.id == user_id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session=False)
    )


def end_all_tokens(user_id: int, keep_token_id: int | None = None) -> None:
    """Every bearer token of the user stops working, but `keep_token_id`
    (the one a password change came with)."""
    begin_write_transaction()
    statement = sa.delete(ApiToken).where(ApiToken.user_id == user_id)
    if keep_token_id is not None:
        statement = statement.where(ApiToken.id != keep_token_id)
    db.session.execute(statement.execution_options(synchronize_session=False))


def end_sessions_and_tokens(user_id: int, keep_token_id: int | None = None) -> None:
    """What a password change does (API.md: every other token and every
    browser session stops working)."""
    end_all_sessions(user_id)
    end_all_tokens(user_id, keep_token_id)


def end_token(token_id: int) -> None:
    """One bearer token stops working at once (DELETE /api/v1/tokens/current)."""
    begin_write_transaction()
    db.session.execute(
        sa.delete(ApiToken).where(ApiToken.id == token_id).execution_options(synchronize_session=False)
    )


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token_for(user: User) -> tuple[str, datetime]:
    """A new bearer token for a user who has just proved who they are."""
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=current_app.config["API_TOKEN_DAYS"])
    user_id = user.id
    begin_write_transaction()
    db.session.add(ApiToken(user_id=user_id, token_hash=_hash_token(token), expires_at=expires_at))
    db.session.flush()
    return token, expires_at


def issue_token(email: str, password: str) -> tuple[str, datetime]:
    """A new bearer token for valid credentials; one message for every failure."""
    user = authenticate(email, password)
    if user is None:
        raise NotAuthenticated(LOGIN_FAILED)
    return issue_token_for(user)


def token_row(token: str) -> ApiToken | None:
    """The unexpired token row of an active user, with its user loaded.
    Reads only (the day of use is noted after the answer: `note_token_use`)."""
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token))
                            .options(joinedload(ApiToken.user)))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row


def tokens_of(user_id: int) -> list[ApiToken]:
    """The user's unexpired API tokens, newest first (the profile)."""
    return list(db.session.scalars(sa.select(ApiToken).where(ApiToken.user_id == user_id,
                                                             ApiToken.expires_at > utcnow())
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def end_own_token(user_id: int, token_id: int) -> None:
    """End one of the user's own tokens (404 for anyone else's)."""
    begin_write_transaction()
    done = db.session.execute(sa.delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user_id)
                              .execution_options(synchronize_session=False))
    if done.rowcount != 1:
        raise NotFound(N_("No such token."))


def user_for_token(token: str) -> User | None:
    row = token_row(token)
    return row.user if row is not None else None


def list_cities() -> list[City]:
    """The nine cities in corridor order."""
    return list(db.session.scalars(sa.select(City).order_by(City.sort_order)))
