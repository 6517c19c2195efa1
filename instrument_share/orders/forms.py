"""The forms of entrusted testing's pages (Flask-WTF: CSRF on every form).
They parse what was typed; the limits and rules are the services'."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional, ValidationError

from .services import MAX_SAMPLES

SAMPLE_ROWS = 3  # rows the order form shows at first; static/order_form.js adds more
MAX_SAMPLE_ROWS = MAX_SAMPLES * 2  # rows read from a post (empty ones included); more is refused


def plausible_day(form, field) -> None:
    """A day the platform can hold (a year of 1970 to 2199, as the API's days)."""
    if field.data is not None and not 1970 <= field.data.year <= 2199:
        raise ValidationError(_l("Choose a day between 1970 and 2199."))


class SampleRow(Form):
    """One row of the samples table (a sub-form: the order form holds the CSRF token)."""

    name = StringField(_l("Sample"))
    quantity = StringField(_l("Quantity"))
    unit = StringField(_l("Unit"))
    description = StringField(_l("Notes"))
    hazards = StringField(_l("Hazards"))

    FIELDS = ("name", "quantity", "unit", "description", "hazards")

    def is_empty(self) -> bool:
        return all(not (self[name].data or "").strip() for name in self.FIELDS)

    def sample(self) -> dict:
        return {name: self[name].data or "" for name in self.FIELDS}


class OrderForm(FlaskForm):
    title = StringField(_l("What is to be tested"))
    requirements = TextAreaField(_l("Test requirements"))
    desired_by = DateField(_l("Results wanted by"), validators=[Optional(), plausible_day])
    voucher_id = SelectField(_l("Pay part with an innovation voucher"), coerce=int, default=0)
    # No min_entries: wtforms would read a row added for it from the post
    # again when the post skipped an index (samples-0, samples-2): `pad`.
    samples = FieldList(FormField(SampleRow), max_entries=MAX_SAMPLE_ROWS + 1)

    def validate_samples(self, field) -> None:
        if len(field.entries) > MAX_SAMPLE_ROWS:
            raise ValidationError(_l("List between 1 and 50 samples."))

    def pad(self) -> OrderForm:
        """Empty rows up to SAMPLE_ROWS, for the page."""
        while len(self.samples.entries) < SAMPLE_ROWS:
            self.samples.append_entry()
        return self

    def filled_rows(self) -> list[tuple[int, SampleRow]]:
        """(row index, row) of the rows with something typed in them."""
        return [(index, entry.form) for index, entry in enumerate(self.samples.entries) if not entry.form.is_empty()]


class QuoteForm(FlaskForm):
    amount = StringField(_l("Fee (¥)"))
    turnaround_days = IntegerField(_l("Turnaround (working days from the samples' arrival)"),
                                   validators=[Optional()])
    note = TextAreaField(_l("Note for the firm"))
    valid_until = DateField(_l("Quote valid until"), validators=[Optional(), plausible_day])


class DeclineForm(FlaskForm):
    reason = TextAreaField(_l("Reason, for the firm"))


class AcceptForm(FlaskForm):
    voucher_id = SelectField(_l("Pay part with an innovation voucher"), coerce=int, default=0)
    # The quote the firm saw: accepting is refused if it changed meanwhile.
    amount = HiddenField()
    turnaround_days = HiddenField()
    version = HiddenField()
    seen_parts = HiddenField()  # "voucher id:part,…" as the page showed them


class ReportForm(FlaskForm):
    file = FileField(_l("Report (PDF, at most 20 MB)"), validators=[FileRequired()])
    machine_minutes = IntegerField(_l("Machine time used (minutes)"), validators=[Optional()])
