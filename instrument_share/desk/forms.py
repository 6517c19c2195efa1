"""The instrument editor's form: the full record grouped as the NRII record
is, checked by the same limits as the API (catalogue/schemas.py's
InstrumentWriteSchema, whose length and range validators each field here
takes over), with WTForms' messages in the reader's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from marshmallow import validate
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional

from ..catalogue.models import INSTRUMENT_STATUSES, QUOTA_CLASSES
from ..catalogue.schemas import MAX_AMOUNT, ContactWriteSchema, InstrumentWriteSchema
from ..labels import FIELD_LABELS, QUOTA_LABELS, STATUS_LABELS
from ..text import line_filter, text_filter

# The NRII record's sections, and the fields of each (form field names:
# contact_* are the record's contact {name, phone, email}).
GROUPS = (
    (_l("Basic information"), ("name", "name_en", "asset_no", "category", "model", "manufacturer", "country_of_origin",
                               "original_value", "commissioned_on", "location", "status", "quota_class",
                               "description")),
    (_l("Main specifications"), ("specifications",)),
    (_l("Main functions"), ("functions",)),
    (_l("Services offered"), ("services",)),
    (_l("Fees"), ("hourly_rate", "reference_fees")),
    (_l("Sharing rules"), ("sharing_rules", "accepts_vouchers", "accepts_orders")),
    (_l("Contact"), ("contact_name", "contact_phone", "contact_email")),
    (_l("Booking rules"), ("min_booking_minutes", "max_booking_minutes", "buffer_minutes",
                           "advance_notice_hours", "requires_approval", "open_on_holidays", "self_service",
                           "next_training_on")),
)
TEXTS = ("description", "specifications", "functions", "services", "reference_fees", "sharing_rules")
WHOLE_NUMBERS = ("min_booking_minutes", "max_booking_minutes", "buffer_minutes", "advance_notice_hours")
FLAGS = ("requires_approval", "accepts_vouchers", "accepts_orders", "open_on_holidays", "self_service")
DATES = ("commissioned_on", "next_training_on")


def _schema_field(name: str):
    if name.startswith("contact_"):
        return ContactWriteSchema._declared_fields[name.removeprefix("contact_")]
    return InstrumentWriteSchema._declared_fields[name]


def _limits(name: str) -> list:
    """The API schema's length and range rules for the field, as WTForms validators."""
    validators = []
    for rule in _schema_field(name).validators:
        if isinstance(rule, validate.Length) and rule.max is not None:
            validators.append(Length(max=rule.max))
        elif isinstance(rule, validate.Range):
            validators.append(NumberRange(min=rule.min, max=rule.max))
    return validators


def _label(name: str):
    return FIELD_LABELS["category_code" if name == "category" else name]


def _field(name: str):
    label = _label(name)
    if name in FLAGS:
        return BooleanField(label)
    if name in WHOLE_NUMBERS:
        return IntegerField(label, validators=[InputRequired(), *_limits(name)])
    if name == "hourly_rate":
        return DecimalField(label, places=2, validators=[InputRequired(), NumberRange(min=0, max=MAX_AMOUNT)])
    if name == "original_value":
        return DecimalField(label, places=2, validators=[Optional(), NumberRange(min=0, max=MAX_AMOUNT)])
    if name in DATES:
        return DateField(label, validators=[Optional()])
    if name == "status":
        return SelectField(label, choices=[SelectChoice(s, STATUS_LABELS[s]) for s in INSTRUMENT_STATUSES])
    if name == "quota_class":
        return SelectField(label, choices=[SelectChoice(q, QUOTA_LABELS[q]) for q in QUOTA_CLASSES])
    if name == "category":
        return SelectField(label)  # choices: the classification, set by the view
    if name in TEXTS:
        return TextAreaField(label, filters=[text_filter], validators=_limits(name))
    required = [InputRequired()] if name == "name" else []
    return StringField(label, filters=[line_filter], validators=[*required, *_limits(name)])


class InstrumentForm(FlaskForm):
    """Create or edit an instrument (admins also choose the institution)."""

    groups = GROUPS
    institution_id = SelectField(_l("Institution"), coerce=int, choices=[])
    version = HiddenField()  # when the record was last changed, as this form shows it

    def record(self) -> dict:
        """The record as the API's write schema takes it."""
        data: dict = {"contact": {}}
        for _group, names in GROUPS:
            for name in names:
                value = self[name].data
                if name in ("hourly_rate", "original_value"):
                    value = None if value is None else str(value)
                elif name in DATES:
                    value = None if value is None else value.isoformat()
                elif isinstance(self[name], (StringField, TextAreaField)):
                    value = value or ""
                if name.startswith("contact_"):
                    data["contact"][name.removeprefix("contact_")] = value
                else:
                    data[name] = value
        return data

    @classmethod
    def names(cls) -> list[str]:
        return [name for _group, names in GROUPS for name in names]


for _group, _names in GROUPS:
    for _name in _names:
        setattr(InstrumentForm, _name, _field(_name))


class QualificationForm(FlaskForm):
    """Qualify a user (by the e-mail they signed up with) to run the instrument."""

    email = StringField(_l("E-mail"), filters=[line_filter], validators=[InputRequired(), Email(), Length(max=254)])
    expires_on = DateField(_l("Valid until"), validators=[Optional()])


class ImportForm(FlaskForm):
    """A workbook of instruments: checked first, applied on a second submit."""

    file = FileField(_l("Workbook (.xlsx) or CSV"), validators=[FileRequired()])
    check = SubmitField(_l("Check only"))
    apply = SubmitField(_l("Import"))


class PhotoForm(FlaskForm):
    """One photo: its content is checked by the service, not by its name."""

    file = FileField(_l("Photo (JPEG, PNG or WebP, at most 5 MB)"), validators=[FileRequired()])
