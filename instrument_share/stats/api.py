"""Statistics endpoints of /api/v1 (API.md, "Statistics")."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..accounts.bearer import authenticated, require_user
from ..accounts.policy import stats_scope
from ..api.fields import Line
from ..api.parsing import Blueprint
from ..api.schemas import Day, Id
from ..spreadsheets import TABLES, table_response
from ..vouchers.settlement import voucher_settlement
from . import services
from .tables import FIGURE_COLUMNS, flows_table, settlement_table, utilisation_table

blp = Blueprint("stats_api", __name__, description="Utilisation, flows, settlement")

__all__ = ["FIGURE_COLUMNS", "blp"]


class StatsArgs(Schema):
    from_ = Day(data_key="from", required=True)
    to = Day(required=True)
    format = Line(load_default="json", validate=validate.OneOf(("json", "csv", "xlsx")), metadata={
        "description": "csv or xlsx: the same rows as a file (UTF-8 CSV with a BOM, or a workbook)"})
    headers = Line(load_default="labels", validate=validate.OneOf(("labels", "codes")), metadata={
        "description": "a file's headings and names: in the reader's language, cities and groups by their "
                       "names (labels, the default), or the JSON's field names and stored codes (codes)"})
    city = Line(metadata={"description": "admins: narrow to one city"})
    institution = Id(metadata={"description": "admins and city bureaus: one institution"})


class UtilisationArgs(StatsArgs):
    group_by = Line(load_default="city", validate=validate.OneOf(services.GROUPS))


class FiguresSchema(Schema):
    open_hours = fields.Decimal(as_string=True, required=True)
    booked_hours = fields.Decimal(as_string=True, required=True)
    used_hours = fields.Decimal(as_string=True, required=True)
    external_hours = fields.Decimal(as_string=True, required=True)
    utilisation = fields.Decimal(as_string=True, required=True)
    sharing_rate = fields.Decimal(as_string=True, required=True)
    bookings = fields.Integer(required=True)
    no_shows = fields.Integer(required=True)
    no_show_rate = fields.Decimal(as_string=True, required=True)
    revenue = fields.Decimal(as_string=True, places=2, required=True)
    voucher_revenue = fields.Decimal(as_string=True, places=2, required=True,
                                     metadata={"description": "the part of revenue paid by vouchers"})
    voucher_share = fields.Decimal(as_string=True, required=True)
    instruments = fields.Integer(required=True)
    orders = fields.Integer(required=True, metadata={
        "description": "entrusted-testing orders reported in the period (reported or closed), dated by "
                       "the upload of their report"})
    order_revenue = fields.Decimal(as_string=True, places=2, required=True,
                                   metadata={"description": "the quoted fees of those orders"})
    order_voucher_revenue = fields.Decimal(as_string=True, places=2, required=True,
                                           metadata={"description": "the part of order revenue paid by vouchers"})
    order_hours = fields.Decimal(as_string=True, required=True, metadata={
        "description": "the machine time recorded with those orders' reports, in hours; part of used_hours "
                       "and external_hours"})
    median_turnaround_days = fields.Decimal(as_string=True, required=True, allow_none=True, metadata={
        "description": "median working days from the samples' receipt to the report (holidays off, make-up "
                       "days on); null without orders"})


class UtilisationRowSchema(FiguresSchema):
    key = fields.String(required=True)
    label = fields.String(required=True)
    label_en = fields.String(required=True)


class UtilisationSchema(Schema):
    rows = fields.List(fields.Nested(UtilisationRowSchema), required=True)
    totals = fields.Nested(FiguresSchema, required=True)


class FlowCellSchema(Schema):
    from_ = fields.String(data_key="from", attribute="from", required=True)
    to = fields.String(required=True)
    hours = fields.Decimal(as_string=True, required=True)
    bookings = fields.Integer(required=True)
    revenue = fields.Decimal(as_string=True, places=2, required=True)
    orders = fields.Integer(required=True, metadata={"description": "entrusted-testing orders reported"})
    order_revenue = fields.Decimal(as_string=True, places=2, required=True)


class FlowsSchema(Schema):
    cities = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Nested(FlowCellSchema), required=True)


def _scope_and_period(args):
    user = require_user()
    scope = stats_scope(user, args.get("institution"), args.get("city"))
    return scope, services.make_period(args.get("from_"), args.get("to"))


@blp.get("/stats/utilisation")
@authenticated
@blp.arguments(UtilisationArgs, location="query")
@blp.response(200, UtilisationSchema)
@blp.doc(responses={200: TABLES})
def utilisation(args):
    """Open, booked and used hours, utilisation, bookings and revenue, entrusted-testing orders, grouped.

    `format=csv|xlsx` gives the same rows as a file, headed in the reader's language with names for
    codes (the session's language, else the account's; Chinese first); `headers=codes` heads it with
    the JSON's field names and keeps the stored codes."""
    scope, period = _scope_and_period(args)
    result = services.utilisation(scope, period, args["group_by"])
    if args["format"] != "json":
        headings, rows = utilisation_table(result, args["group_by"], codes=args["headers"] == "codes")
        return table_response(f"utilisation-{args['group_by']}-{period.first}-{period.last}",
                              headings, rows, args["format"])
    return result


@blp.get("/stats/flows")
@authenticated
@blp.arguments(StatsArgs, location="query")
@blp.response(200, FlowsSchema)
@blp.doc(responses={200: TABLES})
def flows(args):
    """Hours, bookings, revenue and orders from firms of each city to instruments of each city.

    `format=csv|xlsx` gives the same rows as a file, headed in the reader's language with names for
    codes (the session's language, else the account's; Chinese first); `headers=codes` heads it with
    the JSON's field names and keeps the stored codes."""
    scope, period = _scope_and_period(args)
    result = services.flows(scope, period)
    if args["format"] != "json":
        headings, rows = flows_table(result, codes=args["headers"] == "codes")
        return table_response(f"flows-{period.first}-{period.last}", headings, rows, args["format"])
    return result


class SettlementRowSchema(Schema):
    issuing_city = fields.String(required=True)
    institution_id = fields.Integer(required=True)
    institution = fields.String(required=True)
    provider_city = fields.String(required=True)
    amount = fields.Decimal(as_string=True, places=2, required=True)
    bookings = fields.Integer(required=True)
    orders = fields.Integer(required=True, metadata={"description": "orders of entrusted testing, by their report"})


class CityAmountSchema(Schema):
    issuing_city = fields.String(required=True)
    amount = fields.Decimal(as_string=True, places=2, required=True)


class InstitutionAmountSchema(Schema):
    institution_id = fields.Integer(required=True)
    institution = fields.String(required=True)
    amount = fields.Decimal(as_string=True, places=2, required=True)


class SettlementSchema(Schema):
    rows = fields.List(fields.Nested(SettlementRowSchema), required=True)
    by_issuing_city = fields.List(fields.Nested(CityAmountSchema), required=True)
    by_institution = fields.List(fields.Nested(InstitutionAmountSchema), required=True)
    total = fields.Decimal(as_string=True, places=2, required=True)


@blp.get("/stats/vouchers")
@authenticated
@blp.arguments(StatsArgs, location="query")
@blp.response(200, SettlementSchema)
@blp.doc(responses={200: TABLES})
def vouchers(args):
    """Voucher money redeemed per issuing city and per providing institution.

    `format=csv|xlsx` gives the same rows as a file, headed in the reader's language with names for
    codes (the session's language, else the account's; Chinese first); `headers=codes` heads it with
    the JSON's field names and keeps the stored codes."""
    scope, period = _scope_and_period(args)
    result = voucher_settlement(scope, period.start, period.end)
    if args["format"] != "json":
        headings, rows = settlement_table(result, codes=args["headers"] == "codes")
        return table_response(f"vouchers-{period.first}-{period.last}", headings, rows, args["format"])
    return result
