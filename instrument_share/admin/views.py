"""The joint office's view of the outbox: what waits, what died, resend."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..accounts.policy import can_see_outbox
from ..extensions import db
from ..mail.delivery import resend
from ..mail.models import MESSAGE_STATUSES, MessageStatus, OutboxMessage

bp = Blueprint("mail_admin", __name__, url_prefix="/admin/mail")


@bp.before_request
@login_required
def _admins_only():
    if not can_see_outbox(current_user):
        abort(403)


@bp.get("/")
def outbox():
    status = request.args.get("status")
    query = sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)
    if status in MESSAGE_STATUSES:
        query = query.where(OutboxMessage.status == status)
    counts = dict(db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)).all())
    return render_template("admin/outbox.html", messages=db.session.scalars(query).all(),
                           counts=counts, status=status, form=FlaskForm())


@bp.post("/<int:message_id>/resend")
def resend_message(message_id: int):
    if not FlaskForm().validate_on_submit():
        abort(400)
    if resend(message_id) is None:
        abort(404)
    flash(_("The message is queued again."), "success")
    return redirect(url_for("mail_admin.outbox", status=MessageStatus.DEAD))
