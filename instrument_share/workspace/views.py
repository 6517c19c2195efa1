"""The workspace page (/workspace: a firm user's landing page after sign-in),
the star on instrument pages and the saved searches."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..booking.usage import check_in_open
from ..errors import ValidationFailed
from ..timeutil import utcnow
from ..web import flashes_refusals, refusal_message, safe_next_url
from . import services

bp = Blueprint("workspace", __name__)


@bp.get("/workspace")
@login_required
def home():
    now = utcnow()
    return render_template("workspace/home.html", space=services.workspace_of(current_user, now), now=now,
                           check_in_open=check_in_open, action_form=FlaskForm())


@bp.post("/instruments/<int:instrument_id>/favourite")
@login_required
@flashes_refusals(lambda instrument_id: url_for("booking.instrument", instrument_id=instrument_id))
def favourite(instrument_id: int):
    """Star or unstar an instrument (收藏)."""
    if FlaskForm().validate_on_submit():
        starred = services.toggle_favourite(current_user, instrument_id)
        flash(_("Added to your favourites: its next free slot is on your workspace.") if starred
              else _("Removed from your favourites."), "success")
    return redirect(safe_next_url(request.form.get("next"))
                    or url_for("booking.instrument", instrument_id=instrument_id))


@bp.post("/searches")
@login_required
def save_search():
    """Keep the search the page shows under a name."""
    kept = services.kept_query(request.form.get("query", ""))
    back = url_for("search.search") + ("?" + kept if kept else "")
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        services.save_search(current_user, request.form.get("name", ""), request.form.get("query", ""))
    except ValidationFailed as error:
        flash(refusal_message(error), "danger")
        return redirect(back)
    flash(_("Search kept: it is on your workspace."), "success")
    return redirect(back)


@bp.post("/searches/<int:search_id>/delete")
@login_required
@flashes_refusals(lambda search_id: url_for("workspace.home"))
def delete_search(search_id: int):
    if FlaskForm().validate_on_submit():
        services.delete_saved_search(current_user, search_id)
        flash(_("Saved search deleted."), "success")
    return redirect(url_for("workspace.home"))
