"""Pages of an organisation's administrator: a firm's members (/firm/members)
and an institution's managers (/manage/staff). One page each, the same
template: members with their state, open invitations, an invitation form,
and a button that deactivates a member."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from ..errors import Conflict, ValidationFailed
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
        except (ValidationFailed, Conflict) as error:
            refused(error, form, default_field=form.email)
        else:
            flash(_("An invitation went to %(email)s; the link in it works for %(days)s days.",
                    email=invitation.email, days=members.INVITATION_DAYS), "success")
            return redirect(url_for(f"members.{kind}"))
    return _page(kind, form)


def _withdraw(kind: str, invitation_id: int):
    if FlaskForm().validate_on_submit():
        members.withdraw(current_user, Role.FIRM if kind == "firm" else Role.MANAGER, invitation_id)
        flash(_("The invitation was withdrawn; its link no longer works."), "success")
    return redirect(url_for(f"members.{kind}"))


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


@bp.post("/firm/members/invitations/<int:invitation_id>/withdraw")
@login_required
@flashes_refusals(lambda invitation_id: url_for("members.firm"))
def withdraw_firm_invitation(invitation_id: int):
    return _withdraw("firm", invitation_id)


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


@bp.post("/manage/staff/invitations/<int:invitation_id>/withdraw")
@login_required
@flashes_refusals(lambda invitation_id: url_for("members.staff"))
def withdraw_staff_invitation(invitation_id: int):
    return _withdraw("staff", invitation_id)
