"""Account rules: who may exist, how they sign in, how API tokens work."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm import joinedload
from stdnum.cn import uscc as uscc_number
from stdnum.exceptions import ValidationError as StdnumError

from ..catalogue.models import City, Institution
from ..db_types import utcnow
from ..errors import N_, NotAuthenticated, ValidationFailed
from ..extensions import db
from .models import LANGUAGES, ROLES, ApiToken, Firm, User

MIN_PASSWORD_LENGTH = 8


def normalise_email(email: str) -> str:
    """A syntactically valid address, lower-cased; raises ValidationFailed."""
    try:
        result = validate_email((email or "").strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationFailed(
            "Invalid e-mail address.", {"email": [N_("Not a valid e-mail address.")]}
        ) from exc
    return result.normalized.lower()


def normalise_uscc(code: str) -> str:
    """A valid 统一社会信用代码 (18 characters, check digit verified)."""
    try:
        return uscc_number.validate((code or "").strip().upper())
    except StdnumError as exc:
        raise ValidationFailed(
            "Invalid Unified Social Credit Code.",
            {"uscc": [N_("Not a valid Unified Social Credit Code (check digit).")]},
        ) from exc


def _city(code: str | None, field: str = "city") -> City:
    city = db.session.get(City, code) if code else None
    if city is None:
        raise ValidationFailed("Unknown city.", {field: [f"Unknown city code: {code!r}."]})
    return city


def find_or_create_firm(name: str, uscc: str, city_code: str) -> Firm:
    """The firm with this USCC, created when new. The USCC is the firm's identity."""
    code = normalise_uscc(uscc)
    firm = db.session.scalar(sa.select(Firm).where(Firm.uscc == code))
    if firm is not None:
        return firm
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationFailed("Firm name required.", {"firm_name": [N_("Give the firm's name.")]})
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
) -> User:
    """A new user; each role needs its anchor (firm, institution or city).

    Flushes only: the caller's transaction decides.
    """
    errors: dict[str, list[str]] = {}
    email = normalise_email(email)
    if db.session.scalar(sa.select(User.id).where(User.email == email)):
        errors["email"] = [N_("This e-mail address is already registered.")]
    if len(password or "") < MIN_PASSWORD_LENGTH:
        errors["password"] = [f"At least {MIN_PASSWORD_LENGTH} characters."]
    if role not in ROLES:
        errors["role"] = [f"One of {', '.join(ROLES)}."]
    if language not in LANGUAGES:
        errors["language"] = [f"One of {', '.join(LANGUAGES)}."]
    if role == "firm" and firm is None:
        errors["firm"] = ["A firm user needs a firm."]
    if role == "manager" and (
        institution_id is None or db.session.get(Institution, institution_id) is None
    ):
        errors["institution"] = ["A manager needs an existing institution."]
    if role == "city_admin" and (city_code is None or db.session.get(City, city_code) is None):
        errors["city"] = ["A city administrator needs one of the nine city codes."]
    if errors:
        raise ValidationFailed("The user could not be created.", errors)
    user = User(
        email=email,
        name=(name or email.split("@")[0])[:100],
        role=role,
        firm=firm,
        institution_id=institution_id,
        city_code=city_code if role == "city_admin" else None,
        language=language,
    )
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def register_firm_user(
    *, email: str, password: str, name: str, firm_name: str, uscc: str, city_code: str
) -> User:
    """Self-registration of a firm's engineer.

    A USCC that is already registered is refused: joining an existing firm
    would give a stranger its vouchers, so colleagues are added by the joint
    office (CLI) instead.
    """
    code = normalise_uscc(uscc)
    if db.session.scalar(sa.select(Firm.id).where(Firm.uscc == code)):
        raise ValidationFailed(
            "This firm is already registered.",
            {"uscc": [N_("This firm is already registered; ask the joint office to add you.")]},
        )
    firm = find_or_create_firm(firm_name, code, city_code)
    return create_user(email=email, password=password, name=name, role="firm", firm=firm)


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, else None (same for both causes)."""
    try:
        email = normalise_email(email)
    except ValidationFailed:
        return None
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    return user


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(email: str, password: str) -> tuple[str, datetime]:
    """A new bearer token for valid credentials; one message for every failure."""
    user = authenticate(email, password)
    if user is None:
        raise NotAuthenticated("Wrong e-mail address or password.")
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(days=current_app.config["API_TOKEN_DAYS"])
    db.session.add(ApiToken(user=user, token_hash=_hash_token(token), expires_at=expires_at))
    return token, expires_at


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _hash_token(token))
                            .options(joinedload(ApiToken.user)))
    if row is None or row.expires_at <= utcnow() or not row.user.active:
        return None
    return row.user
