"""Sign-in and registration forms (Flask-WTF: CSRF on every form)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from ..text import line_filter


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), filters=[line_filter], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class RegistrationForm(FlaskForm):
    name = StringField(_l("Your name"), filters=[line_filter], validators=[DataRequired(), Length(max=100)])
    email = EmailField(_l("E-mail"), filters=[line_filter], validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))],
    )
    firm_name = StringField(_l("Firm name"), filters=[line_filter], validators=[DataRequired(), Length(max=200)])
    uscc = StringField(
        _l("Unified Social Credit Code"), filters=[line_filter], validators=[DataRequired(), Length(min=18, max=18)]
    )
    city = SelectField(_l("City"), validators=[DataRequired()])


class PasswordResetRequestForm(FlaskForm):
    email = EmailField(_l("E-mail"), filters=[line_filter], validators=[DataRequired(), Length(max=254)])


class NewPasswordForm(FlaskForm):
    """A new password, twice (reset by mail); the service judges its strength."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("password", message=_l("Passwords do not match."))],
    )


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Repeat password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("Passwords do not match."))],
    )


class JoinForm(NewPasswordForm):
    name = StringField(_l("Your name"), filters=[line_filter], validators=[DataRequired(), Length(max=100)])


class InvitationForm(FlaskForm):
    email = EmailField(_l("Colleague's e-mail"), filters=[line_filter],
                       validators=[DataRequired(), Length(max=254)])
