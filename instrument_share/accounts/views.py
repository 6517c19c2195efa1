"""Sign in, sign out, registration and profile pages."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from ..catalogue.services import list_cities_with_counts
from ..errors import ValidationFailed
from ..extensions import db, limiter, login_manager
from ..invites.feeds import feed_url, reset_feed_token
from ..web import safe_next_url
from .forms import LoginForm, RegistrationForm
from .models import User
from .services import authenticate, register_firm_user

bp = Blueprint("accounts", __name__)

@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is None:
            form.password.errors.append(_("Wrong e-mail address or password."))
        else:
            login_user(user)
            return redirect(safe_next_url(request.args.get("next")) or url_for("catalogue.home"))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("catalogue.home"))


@bp.route("/register", methods=["GET", "POST"])
def register():
    form = RegistrationForm()
    form.city.choices = [SelectChoice(c.code, c.name) for c, _n in list_cities_with_counts()]
    if form.validate_on_submit():
        try:
            user = register_firm_user(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data,
                firm_name=form.firm_name.data,
                uscc=form.uscc.data,
                city_code=form.city.data,
            )
        except ValidationFailed as error:
            db.session.rollback()
            for name, messages in error.fields.items():
                field = getattr(form, name, None) or form.email
                field.errors.extend(_(m) for m in messages)
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! Your firm is registered."), "success")
            return redirect(url_for("catalogue.home"))
    return render_template("accounts/register.html", form=form)


@bp.get("/profile")
@login_required
def profile():
    url = feed_url(current_user)
    return render_template("accounts/profile.html", user=current_user, feed_url=url,
                           webcal_url="webcal://" + url.split("://", 1)[1], form=FlaskForm())


@bp.post("/profile/feed-token")
@login_required
def new_feed_token():
    if FlaskForm().validate_on_submit():
        reset_feed_token(current_user)
        db.session.commit()
        flash(_("A new calendar feed address was made; the old one no longer works."), "success")
    return redirect(url_for("accounts.profile"))
