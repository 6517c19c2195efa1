"""Sign in, sign out, registration, address confirmation, password reset and
change, joining by invitation, and profile pages."""
from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from ..errors import ValidationFailed
from ..extensions import db, limiter, login_manager
from ..web import flashes_refusals, refused, safe_next_url
from . import members, recovery
from .feed_tokens import feed_url, reset_feed_token
from .forms import (
    JoinForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    PasswordResetRequestForm,
    RegistrationForm,
)
from .models import Role, User
from .services import (
    LOGIN_FAILED,
    authenticate,
    check_verification_token,
    end_all_sessions,
    end_own_token,
    list_cities,
    register_firm_user,
    resend_verification,
    tokens_of,
    verify_email,
)

bp = Blueprint("accounts", __name__)

# What survives signing in and out: the visitor's language, nothing else.
SESSION_KEEPS = ("language",)


def login_limit() -> str:
    """The per-address limit of every door that checks a password or sends mail."""
    return current_app.config["LOGIN_RATE_LIMIT"]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The session's user, if the session is of the user's current generation:
    logging out (or a password change) raises the generation and so ends
    every session at once, copies of the cookie included."""
    uid, _sep, generation = user_id.partition(":")
    if not (uid.isdigit() and generation.isdigit()):
        return None  # a session from before generations, or not ours
    user = db.session.get(User, int(uid))
    if user is None or user.session_generation != int(generation):
        return None
    return user


def _fresh_session() -> None:
    """A new session holding only what must survive (the language): nothing
    planted in the session before sign-in, the CSRF secret included, lasts."""
    kept = {key: session[key] for key in SESSION_KEEPS if key in session}
    session.clear()
    session.update(kept)


def _sign_in(user: User) -> None:
    _fresh_session()
    login_user(user)


def landing_page(user: User) -> str:
    """Where signing in leads: a firm user's workspace; everyone else the home page."""
    return url_for("workspace.home") if user.role == Role.FIRM else url_for("search.home")


def _language() -> str:
    return "en" if get_locale().language == "en" else "zh_CN"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login():
    form = LoginForm()
    failed = False
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            failed = True
            form.password.errors.append(_(LOGIN_FAILED))
        else:
            _sign_in(user)
            return redirect(safe_next_url(request.args.get("next")) or landing_page(user))
    return render_template("accounts/login.html", form=form, failed=failed)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        end_all_sessions(current_user.id)  # every session of the user, on every device
    logout_user()
    _fresh_session()
    return redirect(url_for("search.home"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def register():
    form = RegistrationForm()
    form.city.choices = [SelectChoice(c.code, c.name) for c in list_cities()]
    if form.validate_on_submit():
        try:
            register_firm_user(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                firm_name=form.firm_name.data,
                uscc=form.uscc.data,
                city_code=form.city.data,
                language=_language(),
            )
        except ValidationFailed as error:
            refused(error, form, default_field=form.email)
        else:
            # The same page whether the address was new or taken: the mail says which.
            return render_template("accounts/register_sent.html")
    return render_template("accounts/register.html", form=form)


@bp.get("/verify-email/<token>")
def confirm_email(token: str):
    """The link from the mail shows a button; only the button's POST changes
    anything (a GET never writes, and mail scanners that fetch links do not
    use up the link)."""
    try:
        user = check_verification_token(token)
    except ValidationFailed as error:
        return render_template("accounts/verify.html", problem=_(error.message)), 400
    return render_template("accounts/verify.html", user=user, form=FlaskForm())


@bp.post("/verify-email/<token>")
@limiter.limit(login_limit)
def confirm_email_post(token: str):
    try:
        user = verify_email(token)
    except ValidationFailed as error:
        refused(error)
        return render_template("accounts/verify.html", problem=_(error.message)), 400
    _sign_in(user)
    flash(_("Your e-mail address is confirmed. You can book instruments now."), "success")
    return redirect(landing_page(user))


@bp.post("/profile/verify-email")
@login_required
@limiter.limit(login_limit)
def resend_confirmation():
    outcome = resend_verification(current_user.id)
    if outcome == "sent":
        flash(_("We have sent the confirmation mail again. Open the link in it within 24 hours."), "success")
    elif outcome == "recent":
        flash(_("A confirmation mail went out less than ten minutes ago; please check your inbox "
                "and spam folder, or try again later."), "info")
    else:
        flash(_("Your e-mail address is already confirmed."), "info")
    return redirect(safe_next_url(request.form.get("next")) or url_for("accounts.profile"))


@bp.route("/profile", methods=["GET"])
@login_required
def profile(password_form: PasswordChangeForm | None = None):
    url = feed_url(current_user)
    return render_template("accounts/profile.html", user=current_user, feed_url=url,
                           webcal_url="webcal://" + url.split("://", 1)[1], form=FlaskForm(),
                           password_form=password_form or PasswordChangeForm(formdata=None),
                           tokens=tokens_of(current_user.id))


@bp.post("/profile/tokens/<int:token_id>/end")
@login_required
@flashes_refusals(lambda token_id: url_for("accounts.profile"))
def end_token(token_id: int):
    """End one of one's own API tokens: it stops working at once."""
    if FlaskForm().validate_on_submit():
        end_own_token(current_user.id, token_id)
        flash(_("The token was ended; a client still using it gets 401."), "success")
    return redirect(url_for("accounts.profile") + "#tokens")


@bp.post("/profile/password")
@login_required
@limiter.limit(login_limit)
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            user = recovery.change_password(current_user.id, form.current_password.data, form.new_password.data)
        except ValidationFailed as error:
            refused(error, form, default_field=form.new_password)
        else:
            login_user(user)  # this session goes on, in the new generation; every other one has ended
            flash(_("Your password was changed. Every other session and API token of your account has ended."),
                  "success")
            return redirect(url_for("accounts.profile"))
    return profile(password_form=form)


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def request_password_reset():
    form = PasswordResetRequestForm()
    if form.validate_on_submit():
        recovery.request_password_reset(form.email.data, language=_language())
        # The same page whether the address has an account or not.
        return render_template("accounts/password_reset_sent.html")
    return render_template("accounts/password_reset.html", form=form)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def reset_password(token: str):
    """The link from the mail shows a form; only its POST uses the link up."""
    try:
        user = recovery.check_reset_token(token)
    except ValidationFailed as error:
        return render_template("accounts/password_new.html", problem=_(error.message)), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.password.data)
        except ValidationFailed as error:
            refused(error, form, default_field=form.password)
        else:
            flash(_("Your new password is set. Sign in with it."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/password_new.html", form=form, user=user)


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def join(token: str):
    """A colleague's invitation: name and password, and the new member is signed in."""
    try:
        invitation = members.check_invitation(token)
    except ValidationFailed as error:
        return render_template("accounts/join.html", problem=_(error.message)), 400
    form = JoinForm()
    if form.validate_on_submit():
        try:
            user = members.accept_invitation(token, name=form.name.data, password=form.password.data,
                                             language=_language())
        except ValidationFailed as error:
            refused(error, form)
        else:
            _sign_in(user)
            flash(_("Welcome! You are now a member of %(organisation)s.",
                    organisation=members.organisation_name(invitation)), "success")
            return redirect(landing_page(user))
    return render_template("accounts/join.html", form=form, invitation=invitation,
                           organisation=members.organisation_name(invitation))


@bp.post("/profile/feed-token")
@login_required
def new_feed_token():
    if FlaskForm().validate_on_submit():
        reset_feed_token(current_user)
        flash(_("A new calendar feed address was made; the old one no longer works."), "success")
    return redirect(url_for("accounts.profile"))
