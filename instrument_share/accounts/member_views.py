"""Pages of an organisation's administrator: a firm's members (/firm/members)
and an institution's managers (/manage/staff). One page each, the same
template: members with their state, open invitations, an invitation form,
and a button that deactivates a member."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..errors import ValidationFailed
from ..extensions import limiter
from ..web import flashes_refusals, refused
from . import members
from .forms import InvitationForm
from .models import Role
from .views import login_limit

bp = Blueprint("members", __name__)

PAGES = {  # endpoint -> the organisation the signed-in administrator manages (403 for anyone else)
    "firm": members.firm_of,
    "staff": members.institution_of,
}


def _page(kind: str, form: InvitationForm | None = None):
    organisation = PAGES[kind](current_user)
    return render_template(
        "accounts/members.html", kind=kind, organisation=organisation.name(current_user.language),
        members=members.members(organisation), invitations=members.open_invitations(organisation),
        form=form or InvitationForm(formdata=None), action_form=FlaskForm(),
        invitation_days=members.INVITATION_DAYS,
    )


def _invite(kind: str):
    organisation = PAGES[kind](current_user)
    form = InvitationForm()
    if form.validate_on_submit():
        try:
            invitation = members.invite(current_user, organisation, form.email.data)
        except ValidationFailed as error:
            refused(error, form, default_field=form.email)
        else:
            flash(_("An invitation went to %(email)s; the link in it works for %(days)s days.",
                    email=invitation.email, days=members.INVITATION_DAYS), "success")
            return redirect(url_for(f"members.{kind}"))
    return _page(kind, form)


def _deactivate(kind: str, user_id: int):
    if FlaskForm().validate_on_submit():
        member = members.deactivate(current_user, Role.FIRM if kind == "firm" else Role.MANAGER, user_id)
        flash(_("%(name)s can no longer sign in; their bookings stay.", name=member.name), "success")
    return redirect(url_for(f"members.{kind}"))


@bp.get("/firm/members")
@login_required
def firm():
    return _page("firm")


@bp.post("/firm/members")
@login_required
@limiter.limit(login_limit)
def invite_to_firm():
    return _invite("firm")


@bp.post("/firm/members/<int:user_id>/deactivate")
@login_required
@flashes_refusals(lambda user_id: url_for("members.firm"))
def deactivate_firm_member(user_id: int):
    return _deactivate("firm", user_id)


@bp.get("/manage/staff")
@login_required
def staff():
    return _page("staff")


@bp.post("/manage/staff")
@login_required
@limiter.limit(login_limit)
def invite_to_staff():
    return _invite("staff")


@bp.post("/manage/staff/<int:user_id>/deactivate")
@login_required
@flashes_refusals(lambda user_id: url_for("members.staff"))
def deactivate_staff_member(user_id: int):
    return _deactivate("staff", user_id)
