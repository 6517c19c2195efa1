"""Voucher pages: firms' vouchers and history, bureaus' granting and review,
managers' claims."""
from __future__ import annotations

import csv
import io
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..accounts.models import Firm
from ..catalogue.models import City
from ..errors import ServiceError, ValidationFailed
from ..extensions import db
from . import claims, services
from .models import VoucherEntry

bp = Blueprint("vouchers", __name__, url_prefix="/vouchers")


def _flash_error(error: ServiceError) -> None:
    details = " ".join(_(m) for messages in error.fields.values() for m in messages)
    flash(f"{_(error.message)} {details}".strip(), "danger")


@bp.get("/")
@login_required
def overview():
    vouchers = services.list_vouchers(current_user)
    entries = db.session.scalars(
        sa.select(VoucherEntry).where(VoucherEntry.voucher_id.in_([v.id for v in vouchers]))
        .order_by(VoucherEntry.id.desc()).limit(200)
    ).all() if vouchers else []
    firms = []
    if current_user.role in ("city_admin", "admin"):
        query = sa.select(Firm).order_by(Firm.name)
        if current_user.role == "city_admin":
            query = query.where(Firm.city_code == current_user.city_code)
        firms = db.session.scalars(query).all()
    cities = db.session.scalars(sa.select(City).order_by(City.sort_order)).all()
    return render_template("vouchers/overview.html", vouchers=vouchers, entries=entries, firms=firms,
                           claims=claims.list_claims(current_user), cities=cities, form=FlaskForm(),
                           today=services._today())


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


@bp.post("/grant")
@login_required
def grant():
    _checked_form()
    try:
        services.issue_voucher(current_user, request.form.get("firm_id", type=int),
                               request.form.get("amount", ""), _date("expires_on"),
                               request.form.get("max_share", ""))
    except ServiceError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        _flash_error(error)
    else:
        db.session.commit()
        flash(_("Voucher granted."), "success")
    return redirect(url_for("vouchers.overview"))


@bp.post("/grant-csv")
@login_required
def grant_csv():
    """One voucher per line `USCC,amount`; every line or none."""
    _checked_form()
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(cell.strip() for cell in r)]
    if rows and rows[0][0].strip().lower() in ("uscc", "统一社会信用代码"):
        rows = rows[1:]
    problems = []
    for number, row in enumerate(rows, start=1):
        firm = db.session.scalar(sa.select(Firm).where(Firm.uscc == row[0].strip().upper()))
        if firm is None or len(row) < 2:
            problems.append(_("line %(n)s: unknown USCC or no amount", n=number))
            continue
        try:
            services.issue_voucher(current_user, firm.id, row[1].strip(), _date("expires_on"),
                                   request.form.get("max_share", ""))
        except ValidationFailed as error:
            details = " ".join(_(m) for messages in error.fields.values() for m in messages)
            problems.append(_("line %(n)s: %(problem)s", n=number, problem=details))
        except ServiceError:
            problems.append(_("line %(n)s: not a firm of your city", n=number))
    if problems or not rows:
        db.session.rollback()
        flash(_("Nothing was granted.") + " " + ("; ".join(problems) or _("The file is empty.")), "danger")
    else:
        db.session.commit()
        flash(_("%(n)s vouchers granted.", n=len(rows)), "success")
    return redirect(url_for("vouchers.overview"))


@bp.post("/claims")
@login_required
def file_claim():
    _checked_form()
    first, last = _date("from"), _date("to")
    try:
        if first is None or last is None:
            raise ValidationFailed("The period is not valid.", {"from": ["Give a date and time."]})
        claims.file_claim(current_user, request.form.get("issuing_city", ""), first, last)
    except ServiceError as error:
        db.session.rollback()
        if error.status == 403:
            abort(403)
        _flash_error(error)
    else:
        db.session.commit()
        flash(_("Claim filed."), "success")
    return redirect(url_for("vouchers.overview"))


@bp.post("/claims/<int:claim_id>/lines/<int:line_id>")
@login_required
def decide_line(claim_id: int, line_id: int):
    _checked_form()
    try:
        claim = claims.get_claim(claim_id, current_user)
        claims.review_line(claim, line_id, current_user, request.form.get("decision") == "approve",
                           request.form.get("reason", ""))
    except ServiceError as error:
        db.session.rollback()
        if error.status in (403, 404):
            abort(error.status)
        _flash_error(error)
    else:
        db.session.commit()
    return redirect(url_for("vouchers.overview"))


@bp.post("/claims/<int:claim_id>/paid")
@login_required
def mark_paid(claim_id: int):
    _checked_form()
    try:
        claim = claims.get_claim(claim_id, current_user)
        claims.mark_paid(claim, current_user, _date("paid_on") or services._today())
    except ServiceError as error:
        db.session.rollback()
        if error.status in (403, 404):
            abort(error.status)
        _flash_error(error)
    else:
        db.session.commit()
        flash(_("Claim marked paid."), "success")
    return redirect(url_for("vouchers.overview"))
