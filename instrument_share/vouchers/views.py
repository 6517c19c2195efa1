"""Voucher pages: firms' vouchers and history, bureaus' granting and review,
managers' claims."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..accounts.policy import can_see_statistics, stats_scope
from ..accounts.services import list_cities
from ..errors import N_, ValidationFailed
from ..routing import id_number, page_number
from ..text import TextRefused, clean_line, clean_text
from ..timeutil import day_start, platform_today
from ..web import flashes_refusals
from . import claims, services
from .settlement import voucher_settlement

bp = Blueprint("vouchers", __name__, url_prefix="/vouchers")
PER_PAGE = 50
CLAIMS_PER_PAGE = 20  # each with its lines and their forms
FIRMS_LISTED = 200  # the grant form lists the firms up to this many, else asks for the USCC


@bp.get("/")
@login_required
def overview():
    vouchers, total, page = services.voucher_page(
        current_user, request.args.get("page", 1, type=page_number), PER_PAGE)
    entries, entries_total, history_page = services.ledger_page(
        current_user, request.args.get("history", 1, type=page_number), PER_PAGE)
    claims_shown, claims_total, claims_page = claims.claims_page(
        current_user, request.args.get("claims", 1, type=page_number), CLAIMS_PER_PAGE)
    firms = services.grantable_firms(current_user, FIRMS_LISTED)
    cities = list_cities()
    settlement = None
    if can_see_statistics(current_user):
        tomorrow = platform_today() + timedelta(days=1)
        settlement = voucher_settlement(stats_scope(current_user), day_start(tomorrow - timedelta(days=366)),
                                        day_start(tomorrow))
    return render_template("vouchers/overview.html", vouchers=vouchers, entries=entries, firms=firms,
                           page=page, pages=-(-total // PER_PAGE) or 1, total=total,
                           history_page=history_page, history_pages=-(-entries_total // PER_PAGE) or 1,
                           settlement=settlement,
                           claims=claims_shown, claims_page=claims_page,
                           claims_pages=-(-claims_total // CLAIMS_PER_PAGE) or 1, cities=cities, form=FlaskForm(),
                           today=platform_today())


def _checked_form() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _date(name: str) -> date | None:
    try:
        return date.fromisoformat(request.form.get(name, ""))
    except ValueError:
        return None


def _overview(**_view_args) -> str:
    return url_for("vouchers.overview")


def _done(message: str):
    flash(message, "success")
    return redirect(_overview())


@bp.post("/grant")
@login_required
@flashes_refusals(back=_overview)
def grant():
    _checked_form()
    services.issue_voucher(
        current_user, request.form.get("firm_id", type=id_number), request.form.get("amount", ""),
        _date("expires_on"), request.form.get("max_share", ""), uscc=request.form.get("uscc"))
    return _done(_("Voucher granted."))


@bp.post("/<int:voucher_id>/revoke")
@login_required
@flashes_refusals(back=_overview)
def revoke(voucher_id: int):
    _checked_form()
    services.revoke_voucher(current_user, voucher_id)
    return _done(_("Voucher revoked."))


@bp.post("/grant-csv")
@login_required
@flashes_refusals(back=_overview)
def grant_csv():
    """One voucher per line `USCC,amount`; every line or none."""
    _checked_form()
    granted = services.issue_from_rows(current_user, _clean_rows(_uploaded_rows()), _date("expires_on"),
                                       request.form.get("max_share", ""))
    return _done(_("%(n)s vouchers granted.", n=granted))


def _uploaded_rows() -> list[list[str]]:
    """The uploaded file's non-empty lines, as CSV cells."""
    upload = request.files.get("file")
    text = upload.read().decode("utf-8-sig", errors="replace") if upload else ""
    try:
        return [r for r in csv.reader(io.StringIO(text)) if r and any(cell.strip() for cell in r)]
    except csv.Error:
        raise ValidationFailed(N_("Nothing was granted."),
                               {"file": [N_("The file is not a CSV file of USCC,amount lines.")]}) from None


def _clean_rows(rows: list[list[str]]) -> list[list[str]]:
    """Every cell one line (text.py); a bad cell refuses the whole file."""
    problems: dict[str, list[str]] = {}
    cleaned = []
    for number, row in enumerate(rows, start=1):
        try:
            cleaned.append([clean_line(cell) for cell in row])
        except TextRefused as refused:
            problems[f"line {number}"] = [refused.message]
    if problems:
        raise ValidationFailed(N_("Nothing was granted."), problems)
    return cleaned


def _form_text(name: str, clean=clean_line) -> str:
    """A posted value under its text rule (text.py), or a refusal saying what is wrong."""
    try:
        return clean(request.form.get(name, ""))
    except TextRefused as refused:
        raise ValidationFailed(refused.message) from None


def _claim_period():
    first, last = _date("from"), _date("to")
    if first is None or last is None:
        raise ValidationFailed(N_("The period is not valid."), {"from": [N_("Give a date and time.")]})
    return claims.file_claim(current_user, _form_text("issuing_city"), first, last)


@bp.post("/claims")
@login_required
@flashes_refusals(back=_overview)
def file_claim():
    _checked_form()
    _claim_period()
    return _done(_("Claim filed."))


@bp.post("/claims/<int:claim_id>/lines/<int:line_id>")
@login_required
@flashes_refusals(back=_overview)
def decide_line(claim_id: int, line_id: int):
    _checked_form()
    claims.review_line(claims.get_claim(claim_id, current_user), line_id, current_user,
                       request.form.get("decision") == "approve", _form_text("reason", clean_text))
    return redirect(_overview())


@bp.post("/claims/<int:claim_id>/paid")
@login_required
@flashes_refusals(back=_overview)
def mark_paid(claim_id: int):
    _checked_form()
    claims.mark_paid(claims.get_claim(claim_id, current_user), current_user, _date("paid_on") or platform_today())
    return _done(_("Claim marked paid."))
