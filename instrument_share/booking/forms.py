"""Booking forms (Flask-WTF: CSRF on every form)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from ..text import line_filter, text_filter
from .models import SERVICE_MODES, BookingStatus, ServiceMode

SERVICE_MODE_LABELS = {
    ServiceMode.SELF_OPERATED: _l("Self-operated (占用共享)"),
    ServiceMode.GUIDED: _l("Operated with guidance (技术共享)"),
    ServiceMode.COMMISSIONED: _l("Samples run by staff (委托共享)"),
    ServiceMode.REMOTE: _l("Remote (远程共享)"),
}
BOOKING_STATUS_LABELS = {
    BookingStatus.PENDING: _l("Awaiting approval"),
    BookingStatus.CONFIRMED: _l("Confirmed"),
    BookingStatus.REJECTED: _l("Rejected"),
    BookingStatus.CANCELLED: _l("Cancelled"),
    BookingStatus.COMPLETED: _l("Completed"),
    BookingStatus.NO_SHOW: _l("No-show"),
}
RATING_LABELS = {5: _l("Very satisfied"), 4: _l("Satisfied"), 3: _l("Acceptable"),
                 2: _l("Dissatisfied"), 1: _l("Very poor")}



class BookingForm(FlaskForm):
    start = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = DateTimeLocalField(_l("End"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    purpose = TextAreaField(_l("Purpose"), filters=[text_filter], validators=[DataRequired(), Length(max=2000)])
    weeks = IntegerField(_l("Repeat weekly, times"), default=1,
                         validators=[Optional(), NumberRange(min=1, max=52)])
    voucher_id = SelectField(_l("Pay part with an innovation voucher"), coerce=int, default=0)


class RescheduleForm(FlaskForm):
    start = DateTimeLocalField(_l("Start"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = DateTimeLocalField(_l("End"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), filters=[text_filter], validators=[Length(max=2000)])


class UsageForm(FlaskForm):
    start = DateTimeLocalField(_l("Used from"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = DateTimeLocalField(_l("Used until"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    service_mode = SelectField(
        _l("Service mode"), choices=[SelectChoice(m, SERVICE_MODE_LABELS[m]) for m in SERVICE_MODES]
    )


class RatingForm(FlaskForm):
    rating = SelectField(
        _l("Rating"), coerce=int, choices=[SelectChoice(v, label) for v, label in RATING_LABELS.items()]
    )
    comment = StringField(_l("Comment"), filters=[text_filter], validators=[Length(max=2000)])


class BlackoutForm(FlaskForm):
    start = DateTimeLocalField(_l("From"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    end = DateTimeLocalField(_l("Until"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    reason = StringField(_l("Reason"), filters=[line_filter], validators=[Length(max=500)])
    cancel_bookings = BooleanField(_l("Cancel the bookings in the way and tell the bookers"))


class EmptyForm(FlaskForm):
    """A button that changes something: the CSRF token and nothing else."""

    next = HiddenField()


def _plausible_day(form, field) -> None:
    """A day the platform can hold (a year of 1970 to 2199, as the API's times)."""
    if field.data is not None and not 1970 <= field.data.year <= 2199:
        raise ValidationError(_l("Choose a day between 1970 and 2199."))


class HistoryFilterForm(FlaskForm):
    """The history's filters, read from the query string (no CSRF: a GET)."""

    class Meta:
        csrf = False

    status = SelectField(_l("Status"), default="", validators=[Optional()])
    instrument = SelectField(_l("Instrument"), coerce=int, default=0, validators=[Optional()])
    from_ = DateField(_l("From"), validators=[Optional(), _plausible_day])
    to = DateField(_l("Until"), validators=[Optional(), _plausible_day])
