"""The permission matrix (issue #8): every route of the application, API and
pages alike, against every role, with the answer each role gets.

One fixture world is built once for the module and stored as a snapshot of
every table; each role's column restores it and then plays every row. A
row's URL names objects that belong to firm A (its user is "firm"), to
institution 1 (its manager is "manager") and to the city of both, Jiaxing
(its bureau is "city_admin"); "other_firm", "other_manager" and
"other_city_admin" are the same roles anchored elsewhere (firm B, also of
Jiaxing; institution 2 in Hefei; the Hefei bureau), so their columns show the
refusals.

An answer is the status code, with `*` when the request changed the
database. Every cell is checked against the database: a cell without `*`
must leave every table exactly as it was, which is what makes a refusal a
refusal (page actions answer a business refusal with a redirect and a
flashed message, so for them the `*` is the only difference; a permission
refusal is a 403 or 404). After a cell that changed something the world is
restored, so cells do not depend on order.

Each row names the rule behind it (`policy=`): a rule of the policy layer,
and `test_each_row_names_a_rule_of_the_policy_layer_and_its_answers_follow_it`
asks that rule about each role and fails where a cell disagrees with it.

A route that is not in the table fails `test_every_route_is_in_the_table`:
a new endpoint must join it.
"""
from __future__ import annotations

import hashlib
import inspect
import io
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.security import generate_password_hash

from instrument_share.accounts.feed_tokens import feed_token
from instrument_share.accounts.models import ApiToken, Invitation, User
from instrument_share.accounts.recovery import reset_link
from instrument_share.accounts.services import verification_link
from instrument_share.booking.models import Blackout, Booking
from instrument_share.booking.services import booking_cost
from instrument_share.catalogue.models import Instrument, InstrumentPhoto, Qualification
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders.models import Order, OrderSample, StoredFile
from instrument_share.site import policy_rules
from instrument_share.timeutil import to_platform, utcnow
from instrument_share.vouchers.models import Voucher, VoucherClaim, VoucherClaimLine, VoucherEntry
from instrument_share.workspace.models import SavedSearch

from .booking.conftest import at, workday
from .conftest import REFERENCE_TABLES, Browser, csrf_token_from, fixture_context
from .factories import PASSWORD, Factories

ROLES = (
    "anonymous", "firm", "other_firm", "manager", "other_manager", "city_admin", "other_city_admin",
    "admin",
)
# Served by Flask and Bootstrap-Flask from files; no data and no permission behind them.
EXCLUDED_ENDPOINTS = {"static", "bootstrap.static"}
UNKNOWN_ID = 999999
NEW_PASSWORD = "matrix-new-secret-7"


@dataclass(frozen=True)
class Row:
    """One route and the answer of each role, in the order of ROLES."""

    method: str
    rule: str
    answers: str
    # The policy rule behind the row's answers: a `can_*` rule of the policy
    # layer (site.policy_rules: "view_booking" is booking.policy.can_view_booking),
    # "stats_scope" (stats.policy.stats_scope: the figures' scope), or
    # "public" (anyone) or "signed_in" (anyone signed in).
    policy: str = ""
    ids: dict[str, str] = field(default_factory=dict)  # URL parameter -> world object
    body: Callable[[World], object] | None = None
    query: str = ""
    sees: dict[str, str] | None = None  # API lists: role -> world groups whose ids the items must be
    shows: dict[str, str] | None = None  # pages: role -> the only MARKS the page may name

    def __post_init__(self):
        assert len(self.answers.split()) == len(ROLES), self.rule
        assert self.policy, f"{self.method} {self.rule}: name the policy rule behind the answers"

    @property
    def is_api(self) -> bool:
        return self.rule.startswith("/api/")

    def answer(self, role: str) -> str:
        return self.answers.split()[ROLES.index(role)]

    def path(self, world: World, unknown: bool = False) -> str:
        def value(match: re.Match) -> str:
            name = match.group(2)
            if unknown and match.group(1) == "int:":
                return str(UNKNOWN_ID)
            return str(world.ids[self.ids.get(name, DEFAULT_IDS.get(name, name))])

        path = re.sub(r"<(\w+:)?(\w+)>", value, self.rule)
        text = {name: quote(value) for name, value in world.text.items()}
        return path + (("?" + self.query.format(**text)) if self.query else "")


DEFAULT_IDS = {
    "instrument_id": "instrument", "blackout_id": "blackout", "user_id": "suspended_user",
    "voucher_id": "voucher", "claim_id": "claim_pending", "line_id": "line_pending",
    "institution_id": "institution", "message_id": "dead_message", "token": "feed_token",
    "code": "language", "qualification_id": "qualification", "photo_id": "photo",
    "invitation_id": "invitation", "order_id": "order_submitted",
}


@dataclass
class World:
    ids: dict[str, int | str] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)  # times and dates for bodies and queries
    groups: dict[str, set[int]] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)  # names that tell whose data a page shows
    tokens: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, int] = field(default_factory=dict)
    snapshot: dict = field(default_factory=dict)
    fingerprint: dict = field(default_factory=dict)


# --- the bodies each row sends -------------------------------------------------

def _slot(w: World, which: str) -> dict:
    return {"start": w.text[f"{which}_start"], "end": w.text[f"{which}_end"]}


def _local(w: World, which: str) -> dict:
    """The same slot as the naive values of a datetime-local input."""
    return {"start": w.text[f"{which}_start_local"], "end": w.text[f"{which}_end_local"]}


def new_booking(w):
    return {"instrument_id": w.ids["instrument"], **_slot(w, "free"), "purpose": "matrix"}


def new_instrument(w):
    return {"institution_id": w.ids["institution"], "name": "新仪器", "category": "analytical-electron-optics"}


def new_voucher(w):
    return {"firm_id": w.ids["firm_a"], "amount": "100.00", "expires_on": w.text["next_year"],
            "max_share": "0.5"}


def new_claim(w):
    return {"issuing_city": "jiaxing", "from": w.text["month_ago"], "to": w.text["today"],
            "institution_id": w.ids["institution"]}


def instrument_record(w):
    """The editor's form as a manager sends it: the settings every record has."""
    return {"institution_id": str(w.ids["institution"]), "name": "新仪器", "category": "analytical-electron-optics",
            "status": "normal", "quota_class": "general", "hourly_rate": "100.00", "min_booking_minutes": "30",
            "max_booking_minutes": "480", "buffer_minutes": "0", "advance_notice_hours": "24"}


def small_photo(w):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG")
    return {"file": (io.BytesIO(buffer.getvalue()), "photo.jpg")}


def instruments_csv(w):
    rows = "资产编号,仪器名称,所属分类代码\nMATRIX-1,矩阵仪器,analytical-electron-optics\n".encode()
    return {"file": (io.BytesIO(rows), "instruments.csv")}


def instruments_upload(w):
    return {**instruments_csv(w), "apply": "1"}


def new_order(w):
    return {"instrument_id": w.ids["instrument"], "title": "矩阵测试", "samples": [
        {"name": "粉末", "quantity": "1", "unit": "份"}]}


def report_pdf(w):
    return {"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "report.pdf")}


def order_form(w):
    """The order form as a browser sends it: one sample row filled, one empty."""
    return {"title": "矩阵测试", "requirements": "", "desired_by": "", "voucher_id": "0",
            "samples-0-name": "粉末", "samples-0-quantity": "1", "samples-0-unit": "份",
            "samples-1-name": "", "samples-1-quantity": "", "samples-1-unit": ""}


def web_voucher(w):
    return {"firm_id": w.ids["firm_a"], "amount": "100.00", "expires_on": w.text["next_year"],
            "max_share": "0.5"}


def voucher_csv(w):
    rows = f"{w.text['firm_a_uscc']},100.00\n".encode()
    return {"file": (io.BytesIO(rows), "vouchers.csv"), "expires_on": w.text["next_year"], "max_share": "0.5"}


STATS = "from={month_ago}&to={yesterday}&institution={institution}"
BOOKINGS_SEEN = {"firm": "bookings_a", "other_firm": "bookings_b", "manager": "bookings_a",
                 "other_manager": "bookings_b", "city_admin": "", "other_city_admin": "",
                 "admin": "bookings_a bookings_b"}
VOUCHERS_SEEN = {"firm": "voucher_a", "other_firm": "voucher_b", "manager": "", "other_manager": "",
                 "city_admin": "voucher_a voucher_b", "other_city_admin": "",
                 "admin": "voucher_a voucher_b"}
BOOKINGS_SHOWN = {"firm": "sem nmr inst1", "other_firm": "xrd inst2", "manager": "", "other_manager": "",
                  "city_admin": "", "other_city_admin": "", "admin": ""}
DESK_SHOWN = {"manager": "firm_a sem nmr inst1 colleague", "other_manager": "xrd inst2",
              "admin": "firm_a sem nmr inst1 inst2 colleague"}
VOUCHERS_SHOWN = {"firm": "firm_a", "other_firm": "firm_b", "manager": "inst1", "other_manager": "",
                  "city_admin": "firm_a firm_b inst1", "other_city_admin": "", "admin": "firm_a firm_b inst1"}
STATS_SHOWN = {"manager": "sem nmr inst1", "other_manager": "xrd inst2", "city_admin": "sem nmr inst1",
               "other_city_admin": "xrd inst2", "admin": "sem nmr xrd inst1 inst2"}
ORDERS_SHOWN = {"firm": "sem inst1", "other_firm": "", "manager": "firm_a sem inst1", "other_manager": "",
                "city_admin": "firm_a sem inst1", "other_city_admin": "", "admin": "firm_a sem inst1"}
ORDER_DESK_SHOWN = {"manager": "firm_a sem inst1", "other_manager": "inst2", "admin": "firm_a sem inst1 inst2"}
CLAIMS_SEEN = {"firm": "", "other_firm": "", "manager": "claims", "other_manager": "",
               "city_admin": "claims", "other_city_admin": "", "admin": "claims"}

# `*`: the request changed the database. Rows without a body send none (API: `{}`).
ROWS = [
    # API --------------------------------------- anon firm frmB mgr  mgrB city cityB admin
    Row("POST", "/api/v1/tokens",                   "201* 201* 201* 201* 201* 201* 201* 201*", policy="public",
        body=lambda w: {"email": "firm-a@matrix.example", "password": PASSWORD}),
    Row("DELETE", "/api/v1/tokens/current",         "401  204* 204* 204* 204* 204* 204* 204*", policy="signed_in"),
    Row("GET", "/api/v1/me",                        "401  200  200  200  200  200  200  200", policy="signed_in"),
    Row("POST", "/api/v1/me/feed-token",            "401  200* 200* 200* 200* 200* 200* 200*", policy="signed_in"),
    Row("POST", "/api/v1/me/password",              "401  204* 204* 204* 204* 204* 204* 204*", policy="signed_in",
        body=lambda w: {"current_password": PASSWORD, "new_password": NEW_PASSWORD}),
    Row("POST", "/api/v1/password-reset",           "202* 202* 202* 202* 202* 202* 202* 202*", policy="public",
        body=lambda w: {"email": "firm-a@matrix.example"}),
    Row("POST", "/api/v1/password-reset/confirm",   "204* 204* 204* 204* 204* 204* 204* 204*", policy="public",
        body=lambda w: {"token": w.ids["reset_token"], "password": NEW_PASSWORD}),
    Row("POST", "/api/v1/firm/invitations",         "401  201* 201* 403  403  403  403  403", policy="manage_firm_members",
        body=lambda w: {"email": "new-colleague@matrix.example"}),
    Row("GET", "/api/v1/firm/members",              "401  200  200  403  403  403  403  403", policy="manage_firm_members"),
    Row("GET", "/api/v1/firm/invitations",          "401  200  200  403  403  403  403  403", policy="manage_firm_members"),
    Row("DELETE", "/api/v1/firm/invitations/<int:invitation_id>",
                                                    "401  204* 404  403  403  403  403  204*",
        policy="withdraw_invitation"),
    Row("DELETE", "/api/v1/firm/members/<int:user_id>",
                                                    "401  204* 404  403  403  403  403  204*", policy="deactivate_member"),
    Row("GET", "/api/v1/cities",                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/v1/institutions",              "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/v1/categories",                "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/v1/instruments",               "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/v1/instruments/suggest",       "200  200  200  200  200  200  200  200", policy="public",
        query="q=电镜"),
    Row("POST", "/api/v1/instruments",              "401  403  403  201* 403  403  403  201*", policy="publish_instrument",
        body=new_instrument),
    Row("GET", "/api/v1/instruments/<int:instrument_id>",
                                                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("PATCH", "/api/v1/instruments/<int:instrument_id>",
                                                    "401  403  403  200* 403  403  403  200*", policy="manage_instrument",
        body=lambda w: {"description": "校准后"}),
    Row("GET", "/api/v1/instruments/<int:instrument_id>/availability",
                                                    "200  200  200  200  200  200  200  200", policy="public",
        query="from={free_start}&to={free_end}"),
    Row("PUT", "/api/v1/instruments/<int:instrument_id>/opening-hours",
                                                    "401  403  403  200* 403  403  403  200*", policy="manage_instrument",
        body=lambda w: [{"weekday": 0, "open": "08:00", "close": "18:00"}]),
    Row("POST", "/api/v1/instruments/<int:instrument_id>/blackouts",
                                                    "401  403  403  201* 403  403  403  201*", policy="manage_instrument",
        body=lambda w: {**_slot(w, "maintenance"), "reason": "校准"}),
    Row("DELETE", "/api/v1/blackouts/<int:blackout_id>",
                                                    "401  403  403  204* 403  403  403  204*", policy="manage_instrument"),
    Row("POST", "/api/v1/instruments/<int:instrument_id>/qualifications",
                                                    "401  403  403  201* 403  403  403  201*", policy="manage_instrument",
        body=lambda w: {"email": w.text["colleague_email"], "expires_on": w.text["next_year"]}),
    Row("GET", "/api/v1/instruments/<int:instrument_id>/qualifications",
                                                    "401  403  403  200  403  403  403  200", policy="manage_instrument"),
    Row("DELETE", "/api/v1/qualifications/<int:qualification_id>",
                                                    "401  403  403  204* 403  403  403  204*", policy="manage_instrument"),
    Row("GET", "/api/v1/institutions/<int:institution_id>/schedule",
                                                    "401  403  403  200  403  403  403  200", policy="manage_institution",
        query="from={free_start}&to={free_end}"),
    Row("GET", "/api/v1/instruments/template.xlsx", "401  200  200  200  200  200  200  200", policy="signed_in"),
    Row("GET", "/api/v1/instruments/export.xlsx",   "401  403  403  200  403  403  403  200", policy="manage_institution",
        query="institution={institution}"),
    Row("POST", "/api/v1/instruments/import",       "401  403  403  200* 403  403  403  200*", policy="manage_institution",
        query="institution_id={institution}", body=instruments_csv),
    Row("GET", "/api/v1/me/qualifications",         "401  200  200  200  200  200  200  200", policy="signed_in"),
    Row("POST", "/api/v1/bookings",                 "401  201* 201* 201* 201* 403  403  201*", policy="book",
        body=new_booking),
    Row("POST", "/api/v1/bookings/quote",           "401  200  200  200  200  403  403  200", policy="book",
        body=new_booking),
    Row("GET", "/api/v1/bookings",                  "401  200  200  200  200  200  200  200", policy="view_booking",
        sees=BOOKINGS_SEEN),
    Row("GET", "/api/v1/bookings/<int:booking_id>", "401  200  404  200  404  404  404  200", policy="view_booking",
        ids={"booking_id": "confirmed"}),
    Row("PATCH", "/api/v1/bookings/<int:booking_id>",
                                                    "401  200* 404  200* 404  404  404  200*", policy="change_booking",
        ids={"booking_id": "confirmed"}, body=lambda w: _slot(w, "moved")),
    Row("POST", "/api/v1/bookings/<int:booking_id>/cancel",
                                                    "401  200* 404  200* 404  404  404  200*", policy="change_booking",
        ids={"booking_id": "confirmed"}, body=lambda w: {"reason": "plans changed"}),
    Row("POST", "/api/v1/bookings/<int:booking_id>/approve",
                                                    "401  403  404  200* 404  404  404  200*", policy="decide_booking",
        ids={"booking_id": "pending"}),
    Row("POST", "/api/v1/bookings/<int:booking_id>/reject",
                                                    "401  403  404  200* 404  404  404  200*", policy="decide_booking",
        ids={"booking_id": "pending"}, body=lambda w: {"reason": "fully booked"}),
    Row("POST", "/api/v1/bookings/<int:booking_id>/check-in",
                                                    "401  200* 404  200* 404  404  404  200*", policy="change_booking",
        ids={"booking_id": "starting"}),
    Row("POST", "/api/v1/bookings/<int:booking_id>/usage",
                                                    "401  403  404  200* 404  404  404  200*", policy="decide_booking",
        ids={"booking_id": "past"}, body=lambda w: {**_slot(w, "past"), "service_mode": "guided"}),
    Row("POST", "/api/v1/bookings/<int:booking_id>/rating",
                                                    "401  200* 404  403  404  404  404  403", policy="rate_booking",
        ids={"booking_id": "completed_unclaimed"}, body=lambda w: {"rating": 5}),
    Row("GET", "/api/v1/bookings/<int:booking_id>/receipt.pdf",
                                                    "401  200  404  200  404  404  404  200", policy="view_booking",
        ids={"booking_id": "completed_unclaimed"}),
    Row("GET", "/api/v1/bookings/<int:booking_id>/ics",
                                                    "401  200  404  200  404  404  404  200", policy="view_booking",
        ids={"booking_id": "confirmed"}),
    Row("POST", "/api/v1/users/<int:user_id>/lift-suspension",
                                                    "401  403  403  204* 403  403  403  204*", policy="lift_suspension"),
    Row("GET", "/api/v1/stats/utilisation",         "401  403  403  200  403  200  403  200", policy="stats_scope",
        query=STATS),
    Row("GET", "/api/v1/stats/flows",               "401  403  403  200  403  200  403  200", policy="stats_scope",
        query=STATS),
    Row("GET", "/api/v1/stats/vouchers",            "401  403  403  200  403  200  403  200", policy="stats_scope",
        query=STATS),
    Row("POST", "/api/v1/vouchers",                 "401  403  403  403  403  201* 403  201*", policy="issue_voucher",
        body=new_voucher),
    Row("GET", "/api/v1/vouchers",                  "401  200  200  200  200  200  200  200", policy="see_voucher",
        sees=VOUCHERS_SEEN),
    Row("POST", "/api/v1/vouchers/<int:voucher_id>/revoke",
                                                    "401  403  404  404  404  200* 404  200*", policy="revoke_voucher"),
    Row("POST", "/api/v1/voucher-claims",           "401  403  403  201* 409  403  403  201*", policy="file_claim",
        body=new_claim),
    Row("GET", "/api/v1/voucher-claims",            "401  200  200  200  200  200  200  200", policy="see_claim",
        sees=CLAIMS_SEEN),
    Row("POST", "/api/v1/voucher-claims/<int:claim_id>/lines/<int:line_id>",
                                                    "401  404  404  403  404  200* 404  200*", policy="review_claim",
        body=lambda w: {"approve": True}),
    Row("POST", "/api/v1/voucher-claims/<int:claim_id>/paid",
                                                    "401  404  404  403  404  200* 404  200*", policy="review_claim",
        ids={"claim_id": "claim_decided"}, body=lambda w: {"paid_on": w.text["today"]}),
    Row("POST", "/api/v1/orders",                   "401  201* 201* 403  403  403  403  403", policy="order",
        body=new_order),
    Row("GET", "/api/v1/orders",                    "401  200  200  200  200  200  200  200", policy="view_order"),
    Row("GET", "/api/v1/orders/<int:order_id>",     "401  200  404  200  404  200  404  200", policy="view_order"),
    Row("POST", "/api/v1/orders/<int:order_id>/quote",
                                                    "401  403  404  200* 404  403  404  200*", policy="handle_order",
        body=lambda w: {"amount": "900.00", "turnaround_days": 4}),
    Row("POST", "/api/v1/orders/<int:order_id>/decline",
                                                    "401  403  404  200* 404  403  404  200*", policy="handle_order",
        body=lambda w: {"reason": "设备检修"}),
    Row("POST", "/api/v1/orders/<int:order_id>/withdraw",
                                                    "401  200* 404  403  404  403  404  403", policy="act_for_firm"),
    Row("POST", "/api/v1/orders/<int:order_id>/accept",
                                                    "401  200* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_quoted"}),
    Row("POST", "/api/v1/orders/<int:order_id>/reject",
                                                    "401  200* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_quoted"}),
    Row("POST", "/api/v1/orders/<int:order_id>/receive",
                                                    "401  403  404  200* 404  403  404  200*", policy="handle_order",
        ids={"order_id": "order_accepted"}),
    Row("POST", "/api/v1/orders/<int:order_id>/report",
                                                    "401  403  404  200* 404  403  404  200*", policy="handle_order",
        ids={"order_id": "order_received"}, body=report_pdf),
    Row("GET", "/api/v1/orders/<int:order_id>/report",
                                                    "401  200  404  200  404  404  404  200", policy="get_report",
        ids={"order_id": "order_reported"}),
    Row("POST", "/api/v1/orders/<int:order_id>/rate",
                                                    "401  200* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_reported"}, body=lambda w: {"rating": 4, "comment": "好"}),
    Row("GET", "/api/v1/openapi.json",              "200  200  200  200  200  200  200  200", policy="public"),
    # pages ------------------------------------- anon firm frmB mgr  mgrB city cityB admin
    Row("GET", "/",                                 "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/search",                           "200  200  200  200  200  200  200  200", policy="public",
        query="q=显微镜"),
    Row("GET", "/login",                            "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/login",                           "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/logout",                          "302  302* 302* 302* 302* 302* 302* 302*", policy="signed_in"),
    Row("GET", "/register",                         "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/register",                        "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/language/<code>",                 "302  302  302  302  302  302  302  302", policy="public"),
    Row("GET", "/guide/firms",                      "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/guide/institutions",               "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/docs",                         "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/docs/swagger-ui/swagger-ui.css",
                                                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/api/docs/swagger-ui/swagger-ui-bundle.js",
                                                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/icons.svg",                        "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/verify-email/<token>",             "200  200  200  200  200  200  200  200", policy="public",
        ids={"token": "verify_token"}),
    Row("POST", "/verify-email/<token>",            "302* 302* 302* 302* 302* 302* 302* 302*", policy="public",
        ids={"token": "verify_token"}),
    Row("GET", "/profile",                          "302  200  200  200  200  200  200  200", policy="signed_in"),
    Row("POST", "/profile/verify-email",            "302  302  302  302  302  302  302  302", policy="signed_in"),
    Row("POST", "/profile/feed-token",              "302  302* 302* 302* 302* 302* 302* 302*", policy="signed_in"),
    Row("POST", "/profile/tokens/<int:token_id>/end", "302  302* 404  404  404  404  404  404", policy="signed_in",
        ids={"token_id": "spare_token"}),
    Row("GET", "/workspace",                        "302  200  200  200  200  200  200  200", policy="signed_in"),
    Row("POST", "/instruments/<int:instrument_id>/favourite",
                                                    "302  302* 302* 302* 302* 302* 302* 302*", policy="signed_in"),
    Row("POST", "/searches",                        "302  302* 302* 302* 302* 302* 302* 302*", policy="signed_in",
        body=lambda w: {"name": "液质", "query": "q=%E6%B6%B2%E8%B4%A8&city=hefei"}),
    Row("POST", "/searches/<int:search_id>/delete", "302  302* 404  404  404  404  404  404", policy="signed_in",
        ids={"search_id": "saved_search"}),
    Row("POST", "/profile/password",                "302  302* 302* 302* 302* 302* 302* 302*", policy="signed_in",
        body=lambda w: {"current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    Row("GET", "/password-reset",                   "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/password-reset",                  "200* 200* 200* 200* 200* 200* 200* 200*", policy="public",
        body=lambda w: {"email": "firm-a@matrix.example"}),
    Row("GET", "/password-reset/<token>",           "200  200  200  200  200  200  200  200", policy="public",
        ids={"token": "reset_token"}),
    Row("POST", "/password-reset/<token>",          "302* 302* 302* 302* 302* 302* 302* 302*", policy="public",
        ids={"token": "reset_token"}, body=lambda w: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    Row("GET", "/join/<token>",                     "200  200  200  200  200  200  200  200", policy="public",
        ids={"token": "invitation_token"}),
    Row("POST", "/join/<token>",                    "302* 302* 302* 302* 302* 302* 302* 302*", policy="public",
        ids={"token": "invitation_token"},
        body=lambda w: {"name": "新同事", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}),
    Row("GET", "/firm/members",                     "302  200  200  403  403  403  403  403", policy="manage_firm_members"),
    Row("POST", "/firm/members",                    "302  302* 302* 403  403  403  403  403", policy="manage_firm_members",
        body=lambda w: {"email": "new-colleague@matrix.example"}),
    Row("POST", "/firm/members/<int:user_id>/deactivate",
                                                    "302  302* 404  403  403  403  403  302*", policy="deactivate_member"),
    Row("POST", "/firm/members/invitations/<int:invitation_id>/withdraw",
                                                    "302  302* 404  403  403  403  403  302*",
        policy="withdraw_invitation"),
    Row("GET", "/manage/staff",                     "302  403  403  200  200  403  403  403",
        policy="manage_institution_staff"),
    Row("POST", "/manage/staff",                    "302  403  403  302* 302* 403  403  403",
        policy="manage_institution_staff", body=lambda w: {"email": "new-manager@matrix.example"}),
    Row("POST", "/manage/staff/<int:user_id>/deactivate",
                                                    "302  403  403  302* 404  403  403  302*", policy="deactivate_member",
        ids={"user_id": "manager_colleague"}),
    Row("POST", "/manage/staff/invitations/<int:invitation_id>/withdraw",
                                                    "302  403  403  302* 404  403  403  302*",
        policy="withdraw_invitation", ids={"invitation_id": "staff_invitation"}),
    Row("GET", "/institutions/<int:institution_id>", "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/instruments/<int:instrument_id>",  "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/instruments/<int:instrument_id>/book",
                                                    "302  302* 302* 302* 302* 403  403  302*", policy="book",
        body=lambda w: {**_local(w, "free"), "purpose": "matrix", "weeks": "1", "voucher_id": "0", "confirm": "1"}),
    Row("GET", "/feeds/<token>.ics",                "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/feeds/instruments/<int:instrument_id>.ics",
                                                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/bookings",                         "302  200  200  200  200  200  200  200", policy="view_booking",
        shows=BOOKINGS_SHOWN),
    Row("GET", "/bookings/export.csv",              "302  200  200  200  200  200  200  200", policy="view_booking",
        shows={**BOOKINGS_SHOWN, "firm": "firm_a sem nmr inst1", "other_firm": "firm_b xrd inst2"}),
    Row("GET", "/bookings/export.xlsx",             "302  200  200  200  200  200  200  200", policy="view_booking"),
    Row("GET", "/bookings/<int:booking_id>/receipt", "302  200  404  200  404  404  404  200", policy="view_booking",
        ids={"booking_id": "completed_unclaimed"}),
    Row("GET", "/statements/<month>",               "302  200  200  403  403  403  403  403", policy="get_statement"),
    Row("GET", "/statements/<month>.pdf",           "302  200  200  403  403  403  403  403", policy="get_statement"),
    Row("GET", "/bookings/<int:booking_id>",        "302  200  404  200  404  404  404  200", policy="view_booking",
        ids={"booking_id": "confirmed"}),
    Row("POST", "/bookings/<int:booking_id>/reschedule",
                                                    "302  302* 404  302* 404  404  404  302*", policy="change_booking",
        ids={"booking_id": "confirmed"}, body=lambda w: _local(w, "moved")),
    Row("POST", "/bookings/<int:booking_id>/cancel",
                                                    "302  302* 404  302* 404  404  404  302*", policy="change_booking",
        ids={"booking_id": "confirmed"}, body=lambda w: {"reason": "plans changed"}),
    Row("POST", "/bookings/<int:booking_id>/approve",
                                                    "302  403  404  302* 404  404  404  302*", policy="decide_booking",
        ids={"booking_id": "pending"}),
    Row("POST", "/bookings/<int:booking_id>/reject",
                                                    "302  403  404  302* 404  404  404  302*", policy="decide_booking",
        ids={"booking_id": "pending"}, body=lambda w: {"reason": "fully booked"}),
    Row("POST", "/bookings/<int:booking_id>/check-in",
                                                    "302  302* 404  302* 404  404  404  302*", policy="change_booking",
        ids={"booking_id": "starting"}),
    Row("POST", "/bookings/<int:booking_id>/usage",
                                                    "302  403  404  302* 404  404  404  302*", policy="decide_booking",
        ids={"booking_id": "past"}, body=lambda w: {**_local(w, "past"), "service_mode": "guided"}),
    Row("POST", "/bookings/<int:booking_id>/rating",
                                                    "302  302* 404  403  404  404  404  403", policy="rate_booking",
        ids={"booking_id": "completed_unclaimed"}, body=lambda w: {"rating": "5", "comment": ""}),
    Row("GET", "/manage/",                          "302  403  403  200  200  403  403  200", policy="use_manager_desk",
        shows=DESK_SHOWN),
    Row("GET", "/manage/instruments/<int:instrument_id>",
                                                    "302  403  403  200  403  403  403  200", policy="manage_instrument"),
    Row("POST", "/manage/instruments/<int:instrument_id>",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument",
        body=instrument_record),
    Row("GET", "/manage/instruments/import",        "302  403  403  200  200  403  403  200", policy="use_manager_desk"),
    Row("POST", "/manage/instruments/import",       "302  403  403  200* 200* 403  403  200*", policy="use_manager_desk",
        body=instruments_upload),
    Row("GET", "/manage/instruments/new",           "302  403  403  200  200  403  403  200", policy="use_manager_desk"),
    Row("POST", "/manage/instruments/new",          "302  403  403  302* 302* 403  403  302*", policy="use_manager_desk",
        body=instrument_record),
    Row("GET", "/manage/instruments/<int:instrument_id>/history",
                                                    "302  403  403  200  403  403  403  200", policy="manage_instrument"),
    Row("GET", "/manage/schedule",                  "302  403  403  200  200  403  403  200", policy="use_manager_desk"),
    Row("GET", "/manage/audit",                     "302  403  403  200  200  403  403  200", policy="use_manager_desk"),
    Row("POST", "/manage/instruments/<int:instrument_id>/hours",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument",
        body=lambda w: {"open-0-0": "08:00", "close-0-0": "18:00"}),
    Row("POST", "/manage/instruments/<int:instrument_id>/blackouts",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument",
        body=lambda w: {**_local(w, "maintenance"), "reason": "校准"}),
    Row("POST", "/manage/blackouts/<int:blackout_id>/delete",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument"),
    # The instrument has bookings ahead, so retiring it is refused (flashed), and it is in service.
    Row("POST", "/manage/instruments/<int:instrument_id>/retire",
                                                    "302  403  403  302  403  403  403  302", policy="manage_instrument"),
    Row("POST", "/manage/instruments/<int:instrument_id>/reinstate",
                                                    "302  403  403  302  403  403  403  302", policy="manage_instrument"),
    Row("POST", "/manage/instruments/<int:instrument_id>/photos",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument",
        body=small_photo),
    Row("POST", "/manage/photos/<int:photo_id>/delete",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument"),
    Row("GET", "/photos/<int:photo_id>.webp",        "200  200  200  200  200  200  200  200", policy="public"),
    Row("GET", "/photos/<int:photo_id>/thumbnail.webp",
                                                    "200  200  200  200  200  200  200  200", policy="public"),
    Row("POST", "/manage/instruments/<int:instrument_id>/qualifications",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument",
        body=lambda w: {"email": w.text["colleague_email"]}),
    Row("POST", "/manage/qualifications/<int:qualification_id>/delete",
                                                    "302  403  403  302* 403  403  403  302*", policy="manage_instrument"),
    Row("POST", "/manage/users/<int:user_id>/lift", "302  403  403  302* 403  403  403  302*", policy="lift_suspension"),
    Row("GET", "/stats/",                           "302  403  403  200  200  200  200  200", policy="see_statistics",
        shows=STATS_SHOWN),
    Row("GET", "/vouchers/",                        "302  200  200  200  200  200  200  200", policy="signed_in",
        shows=VOUCHERS_SHOWN),
    Row("POST", "/vouchers/grant",                  "302  403  403  403  403  302* 403  302*", policy="issue_voucher",
        body=web_voucher),
    Row("POST", "/vouchers/grant-csv",              "302  403  403  403  403  302* 302  302*", policy="issue_voucher",
        body=voucher_csv),
    Row("POST", "/vouchers/<int:voucher_id>/revoke", "302  403  404  404  404  302* 404  302*", policy="revoke_voucher"),
    Row("POST", "/vouchers/claims",                 "302  403  403  302* 302  403  403  403", policy="file_claim",
        body=lambda w: {"issuing_city": "jiaxing", "from": w.text["month_ago"], "to": w.text["today"]}),
    Row("POST", "/vouchers/claims/<int:claim_id>/lines/<int:line_id>",
                                                    "302  404  404  403  404  302* 404  302*", policy="review_claim",
        body=lambda w: {"decision": "approve"}),
    Row("POST", "/vouchers/claims/<int:claim_id>/paid",
                                                    "302  404  404  403  404  302* 404  302*", policy="review_claim",
        ids={"claim_id": "claim_decided"}, body=lambda w: {"paid_on": w.text["today"]}),
    Row("GET", "/instruments/<int:instrument_id>/order",
                                                    "302  200  200  403  403  403  403  403", policy="order"),
    Row("POST", "/instruments/<int:instrument_id>/order",
                                                    "302  302* 302* 403  403  403  403  403", policy="order",
        body=order_form),
    Row("GET", "/orders",                           "302  200  200  200  200  200  200  200", policy="view_order",
        shows=ORDERS_SHOWN),
    Row("GET", "/manage/orders",                    "302  403  403  200  200  403  403  200", policy="use_manager_desk",
        shows=ORDER_DESK_SHOWN),
    Row("GET", "/orders/<int:order_id>",            "302  200  404  200  404  200  404  200", policy="view_order"),
    Row("GET", "/orders/<int:order_id>/report",     "302  200  404  200  404  404  404  200", policy="get_report",
        ids={"order_id": "order_reported"}),
    Row("POST", "/orders/<int:order_id>/quote",     "302  403  404  302* 404  403  404  302*", policy="handle_order",
        body=lambda w: {"amount": "900.00", "turnaround_days": "4"}),
    Row("POST", "/orders/<int:order_id>/decline",   "302  403  404  302* 404  403  404  302*", policy="handle_order",
        body=lambda w: {"reason": "设备检修"}),
    Row("POST", "/orders/<int:order_id>/accept",    "302  302* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_quoted"},
        body=lambda w: {"voucher_id": "0", "amount": "800.00", "turnaround_days": "3"}),
    Row("POST", "/orders/<int:order_id>/reject",    "302  302* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_quoted"}),
    Row("POST", "/orders/<int:order_id>/withdraw",  "302  302* 404  403  404  403  404  403", policy="act_for_firm"),
    Row("POST", "/orders/<int:order_id>/receive",   "302  403  404  302* 404  403  404  302*", policy="handle_order",
        ids={"order_id": "order_accepted"}),
    Row("POST", "/orders/<int:order_id>/report",    "302  403  404  302* 404  403  404  302*", policy="handle_order",
        ids={"order_id": "order_received"}, body=report_pdf),
    Row("POST", "/orders/<int:order_id>/rate",      "302  302* 404  403  404  403  404  403", policy="act_for_firm",
        ids={"order_id": "order_reported"}, body=lambda w: {"rating": "4", "comment": "好"}),
    Row("GET", "/admin/mail/",                      "302  403  403  403  403  403  403  200", policy="see_outbox"),
    Row("POST", "/admin/mail/<int:message_id>/resend",
                                                    "302  403  403  403  403  403  403  302*", policy="see_outbox"),
]


# --- the database snapshot ---------------------------------------------------------

def _tables():
    return [t for t in db.metadata.sorted_tables if t.name not in REFERENCE_TABLES]


def take_snapshot(app) -> dict:
    """Every row of every table but the reference data, to restore the world from."""
    with app.app_context(), db.engine.connect() as conn:
        return {
            t.name: [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in _tables()
        }


def fingerprint(app) -> dict:
    """The content of every table, to tell whether a request changed anything.

    On PostgreSQL one round trip returns every table as JSON; on SQLite the
    snapshot itself is cheap.
    """
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            return take_snapshot(app)
        tables = _tables()
        columns = [
            sa.text(f"(SELECT json_agg(t ORDER BY {', '.join(f't.{c.name}' for c in table.primary_key.columns)})"
                    f" FROM {table.name} t)")
            for table in tables
        ]
        values = conn.execute(sa.select(*columns)).one()
        return {table.name: value for table, value in zip(tables, values, strict=True)}


def restore(app, snapshot: dict) -> None:
    with fixture_context(app):
        db.session.remove()
        with db.engine.begin() as conn:
            tables = _tables()
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("; ".join(f"DELETE FROM {t.name}" for t in reversed(tables)))
            else:
                for table in reversed(tables):
                    conn.execute(table.delete())
            for table in tables:
                if snapshot[table.name]:
                    conn.execute(table.insert(), snapshot[table.name])
            if conn.dialect.name == "postgresql":
                # The per-test clean-up restarts the sequences; keep them past the restored ids.
                conn.exec_driver_sql("SELECT " + ", ".join(
                    f"setval(pg_get_serial_sequence('{t.name}', 'id'), {max(r['id'] for r in snapshot[t.name])})"
                    for t in tables if "id" in t.c and snapshot[t.name]))


def changes(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


# --- the world -----------------------------------------------------------------

def _booking(user, instrument, start, end, status, purpose, **extra) -> Booking:
    cost = booking_cost(instrument, start, end)
    booking = Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=start, end=end,
                      occupied_until=end, status=status, purpose=purpose, cost=cost,
                      voucher_amount=Decimal("0.00"), firm_pays=cost, **extra)
    db.session.add(booking)
    db.session.flush()
    return booking


def _iso_pair(w: World, name: str, start, end) -> None:
    w.text[f"{name}_start"], w.text[f"{name}_end"] = start.isoformat(), end.isoformat()
    w.text[f"{name}_start_local"] = to_platform(start).strftime("%Y-%m-%dT%H:%M")
    w.text[f"{name}_end_local"] = to_platform(end).strftime("%Y-%m-%dT%H:%M")


def build_world(app) -> World:
    w = World()
    with fixture_context(app):
        make = Factories()
        now = utcnow().replace(second=0, microsecond=0)
        today = to_platform(now).date()
        inst1 = make.institution(name="嘉兴测试大学", city_code="jiaxing")
        inst2 = make.institution(name="合肥测试研究所", city_code="hefei")
        firm_a = make.firm(name="甲科技有限公司", city_code="jiaxing")
        firm_b = make.firm(name="乙科技有限公司", city_code="jiaxing")
        # One password hash for everybody: scrypt is slow by design.
        password_hash = generate_password_hash(PASSWORD)

        def user(email, role="firm", verified=True, org_admin=False, **anchor):
            person = User(email=email, name=email.split("@")[0], role=role, password_hash=password_hash,
                          language="zh_CN", email_verified_at=now if verified else None, org_admin=org_admin,
                          **anchor)
            db.session.add(person)
            return person

        users = {
            # The first member of each firm and institution administers it.
            "firm": user("firm-a@matrix.example", firm=firm_a, org_admin=True),
            "other_firm": user("firm-b@matrix.example", firm=firm_b, org_admin=True),
            "manager": user("manager-1@matrix.example", "manager", institution_id=inst1.id, org_admin=True),
            "other_manager": user("manager-2@matrix.example", "manager", institution_id=inst2.id, org_admin=True),
            "city_admin": user("bureau-jx@matrix.example", "city_admin", city_code="jiaxing"),
            "other_city_admin": user("bureau-hf@matrix.example", "city_admin", city_code="hefei"),
            "admin": user("office@matrix.example", "admin"),
        }
        colleague = user("firm-a-2@matrix.example", firm=firm_a)  # suspended after no-shows
        manager_colleague = user("manager-1b@matrix.example", "manager", institution_id=inst1.id)
        # Registered a moment ago, address not yet confirmed: the link's target.
        newcomer = user("newcomer@matrix.example", firm=make.firm(name="丙科技有限公司", city_code="jinhua"),
                        verified=False)
        db.session.flush()
        verify_token = verification_link(newcomer, now).rsplit("/", 1)[1]
        sem = make.instrument(institution=inst1, name="甲校扫描电镜", hourly_rate=Decimal("300.00"))
        nmr = make.instrument(institution=inst1, name="甲校核磁共振", requires_approval=True)
        xrd = make.instrument(institution=inst2, name="乙所衍射仪")
        firm_user = users["firm"]

        day = workday(3)
        _iso_pair(w, "free", at(day, "14:00"), at(day, "15:00"))
        _iso_pair(w, "moved", at(day, "15:00"), at(day, "16:00"))
        _iso_pair(w, "maintenance", at(workday(10), "09:00"), at(workday(10), "12:00"))
        confirmed = _booking(firm_user, sem, at(day, "10:00"), at(day, "11:00"), "confirmed", "confirmed")
        pending = _booking(firm_user, nmr, at(day, "10:00"), at(day, "11:00"), "pending", "pending")
        starting = _booking(firm_user, sem, now + timedelta(minutes=10), now + timedelta(minutes=70),
                            "confirmed", "starting")
        past = _booking(firm_user, sem, now - timedelta(hours=3), now - timedelta(hours=2), "confirmed", "past")
        _iso_pair(w, "past", past.start, past.end)
        no_show = _booking(colleague, sem, now - timedelta(days=10), now - timedelta(days=10, hours=-1),
                           "no_show", "no-show")
        colleague.booking_suspended_at = now - timedelta(days=9)
        firm_b_booking = _booking(users["other_firm"], xrd, at(day, "10:00"), at(day, "11:00"),
                                  "confirmed", "firm B")

        voucher = Voucher(firm=firm_a, issuing_city="jiaxing", amount=Decimal("1000.00"),
                          balance=Decimal("1000.00"), expires_on=today + timedelta(days=365),
                          max_share_bp=5000, created_by_id=users["city_admin"].id)
        voucher_b = Voucher(firm=firm_b, issuing_city="jiaxing", amount=Decimal("500.00"),
                            balance=Decimal("500.00"), expires_on=today + timedelta(days=365),
                            max_share_bp=5000, created_by_id=users["city_admin"].id)
        db.session.add_all([voucher, voucher_b])
        db.session.flush()
        for v in (voucher, voucher_b):
            db.session.add(VoucherEntry(voucher_id=v.id, kind="grant", delta=v.amount, amount=v.amount))
        completed, captures = [], []
        for k in range(3):
            start = now - timedelta(days=5) + timedelta(hours=k)
            booking = _booking(firm_user, sem, start, start + timedelta(hours=1), "completed", f"done {k}",
                               used_start=start, used_end=start + timedelta(hours=1), service_mode="guided",
                               voucher_id=voucher.id)
            share = Decimal("150.00")
            booking.voucher_amount, booking.firm_pays = share, booking.cost - share
            voucher.balance -= share
            db.session.add(VoucherEntry(voucher_id=voucher.id, booking_id=booking.id, kind="hold",
                                        delta=-share, amount=share))
            capture = VoucherEntry(voucher_id=voucher.id, booking_id=booking.id, kind="capture",
                                   delta=Decimal("0.00"), amount=share)
            db.session.add(capture)
            db.session.flush()
            completed.append(booking)
            captures.append(capture)
        claims = []
        for capture, status in zip(captures[:2], ("pending", "approved"), strict=True):
            claim = VoucherClaim(institution_id=inst1.id, issuing_city="jiaxing",
                                 period_from=today - timedelta(days=30), period_to=today,
                                 created_by_id=users["manager"].id)
            claim.lines = [VoucherClaimLine(entry_id=capture.id, amount=capture.amount, status=status)]
            db.session.add(claim)
            db.session.flush()
            claims.append(claim)
        blackout = Blackout(instrument=sem, start=at(workday(30), "09:00"), end=at(workday(30), "12:00"),
                            reason="年检", created_by_id=users["manager"].id)
        dead = OutboxMessage(idempotency_key="matrix:dead", message_id="<dead@matrix.example>",
                             kind="invite", recipient=firm_user.email, subject="dead",
                             raw="Subject: dead\r\n\r\ndead", status="dead", attempts=8)
        qualification = Qualification(instrument=sem, user_id=firm_user.id, granted_by_id=users["manager"].id,
                                      granted_on=today, expires_on=today + timedelta(days=90))
        photo = InstrumentPhoto(instrument=sem, width=4, height=3, display=b"display", thumbnail=b"thumb")
        invitation_token = secrets.token_urlsafe(32)
        invitation = Invitation(email="invitee@matrix.example", role="firm", firm_id=firm_a.id,
                                invited_by_id=firm_user.id, expires_at=now + timedelta(days=7),
                                token_hash=hashlib.sha256(invitation_token.encode()).hexdigest())
        staff_invitation = Invitation(email="pending-manager@matrix.example", role="manager", institution_id=inst1.id,
                                      invited_by_id=users["manager"].id, expires_at=now + timedelta(days=7),
                                      token_hash=hashlib.sha256(b"staff").hexdigest())
        db.session.add_all([blackout, dead, qualification, photo, invitation, staff_invitation])
        db.session.flush()
        orders = {}
        for number, status in enumerate(("submitted", "quoted", "accepted", "received", "reported")):
            report = StoredFile(filename="r.pdf", content_type="application/pdf", size=3, data=b"%PDF") \
                if status == "reported" else None
            orders[status] = Order(
                number=f"WT-2026-00000{number}", instrument_id=sem.id, institution_id=inst1.id, firm_id=firm_a.id,
                user_id=firm_user.id, title="物相分析", requirements="", status=status, report_file=report,
                quote_amount=Decimal("800.00") if status != "submitted" else None,
                turnaround_days=3 if status != "submitted" else None,
                quote_valid_until=today + timedelta(days=10) if status != "submitted" else None,
                samples=[OrderSample(position=1, name="粉末", quantity=Decimal("1"), unit="份")])
            db.session.add(orders[status])
        db.session.flush()
        w.ids.update({f"order_{status}": order.id for status, order in orders.items()})

        w.ids.update(
            institution=inst1.id, instrument=sem.id, firm_a=firm_a.id, suspended_user=colleague.id,
            confirmed=confirmed.id, pending=pending.id, starting=starting.id, past=past.id,
            completed_unclaimed=completed[2].id, voucher=voucher.id, claim_pending=claims[0].id,
            line_pending=claims[0].lines[0].id, claim_decided=claims[1].id, blackout=blackout.id,
            dead_message=dead.id, feed_token=feed_token(firm_user), language="en",
            verify_token=verify_token, qualification=qualification.id, photo=photo.id,
            manager_colleague=manager_colleague.id, invitation_token=invitation_token,
            invitation=invitation.id, staff_invitation=staff_invitation.id, month=today.strftime("%Y-%m"),
            reset_token=reset_link(firm_user).rsplit("/", 1)[1],
        )
        w.groups.update(
            bookings_a={b.id for b in (confirmed, pending, starting, past, no_show, *completed)},
            bookings_b={firm_b_booking.id}, voucher_a={voucher.id}, voucher_b={voucher_b.id},
            claims={c.id for c in claims},
        )
        w.marks.update(firm_a=firm_a.name, firm_b=firm_b.name, sem=sem.name, nmr=nmr.name, xrd=xrd.name,
                       inst1=inst1.name, inst2=inst2.name, colleague=colleague.email)
        w.text.update(
            today=today.isoformat(), yesterday=(today - timedelta(days=1)).isoformat(),
            month_ago=(today - timedelta(days=30)).isoformat(),
            next_year=date(today.year + 1, today.month, min(today.day, 28)).isoformat(),
            institution=str(inst1.id), firm_a_uscc=firm_a.uscc, colleague_email=colleague.email,
        )
        for role, person in users.items():
            # Tokens as issue_token makes them (the tokens row plays issue_token itself).
            w.tokens[role] = secrets.token_urlsafe(32)
            # Used today already: a GET through it writes nothing (last_used_on).
            db.session.add(ApiToken(user=person, token_hash=hashlib.sha256(w.tokens[role].encode()).hexdigest(),
                                    expires_at=now + timedelta(days=1), last_used_on=today))
        # One more token of the firm user's, for the profile's "end" button.
        spare = ApiToken(user=firm_user, token_hash=hashlib.sha256(b"spare").hexdigest(),
                         expires_at=now + timedelta(days=1))
        kept = SavedSearch(user_id=firm_user.id, name="扫描电镜", query="q=%E6%89%AB%E6%8F%8F%E7%94%B5%E9%95%9C")
        db.session.add_all([spare, kept])
        db.session.flush()
        w.ids.update(spare_token=spare.id, saved_search=kept.id)
        db.session.commit()
        emails = {role: person.email for role, person in users.items()}
        w.user_ids.update({role: person.id for role, person in users.items()})
        db.session.remove()

    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            Browser(client).login(emails[role])
        w.csrf[role] = csrf_token_from(client.get("/").get_data(as_text=True))
        w.cookies[role] = client.get_cookie("session").value
    w.snapshot, w.fingerprint = take_snapshot(app), fingerprint(app)
    return w


@pytest.fixture(scope="module")
def world(app):
    return build_world(app)


# --- playing a cell -------------------------------------------------------------

def send(app, world: World, role: str, row: Row, *, unknown: bool = False, session_only: bool = False,
         empty: bool = False):
    client = app.test_client()
    body = row.body(world) if row.body and not empty else None
    kwargs: dict = {}
    if row.is_api:
        if session_only:
            client.set_cookie("session", world.cookies[role])
        elif role != "anonymous":
            kwargs["headers"] = {"Authorization": f"Bearer {world.tokens[role]}"}
        if row.method != "GET" and isinstance(body, dict) and "file" in body:
            kwargs["data"] = body  # an upload: multipart
        elif row.method != "GET":
            kwargs["json"] = {} if body is None else body
    else:
        client.set_cookie("session", world.cookies[role])
        if row.method == "POST":
            kwargs["data"] = {**(body or {}), "csrf_token": world.csrf[role]}
    return client.open(row.path(world, unknown=unknown), method=row.method, **kwargs)


def play(app, world: World, role: str, row: Row, want: str, **options) -> str | None:
    """Send one cell; None when the answer is the expected one, else what went wrong."""
    response = send(app, world, role, row, **options)
    changed = changes(world.fingerprint, fingerprint(app))
    if changed:
        restore(app, world.snapshot)
    got = f"{response.status_code}{'*' if changed else ''}"
    where = f"{role:>16} {row.method:6} {row.path(world, unknown=options.get('unknown', False))}"
    if got != want:
        detail = response.get_data()[:300].decode("utf-8", "replace").replace("\n", " ")
        return f"{where}: expected {want}, got {got} (changed {changed}) {detail}"
    refused = row.is_api and response.status_code >= 400
    if refused and not set(response.json or {}) >= {"error", "message", "fields"}:
        return f"{where}: not in the error shape: {response.get_data(as_text=True)[:200]}"
    to_login = response.status_code != 302 or response.location.startswith("/login")
    if role == "anonymous" and row.method == "GET" and not to_login:
        return f"{where}: redirected to {response.location}, not to the sign-in page"
    if row.sees and role in row.sees and response.status_code == 200:
        expected = set().union(*(world.groups[g] for g in row.sees[role].split()))
        seen = {item["id"] for item in response.json["items"]}
        if seen != expected:
            return f"{where}: sees {sorted(seen)}, should see {sorted(expected)}"
    if row.shows and role in row.shows and response.status_code == 200:
        html = response.get_data(as_text=True)
        shown = {key for key, mark in world.marks.items() if mark in html}
        if shown != set(row.shows[role].split()):
            return f"{where}: shows {sorted(shown)}, should show {sorted(row.shows[role].split())}"
    return None


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in EXCLUDED_ENDPOINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            yield method, rule.rule


# --- the tests ------------------------------------------------------------------

def test_every_route_is_in_the_table(app):
    table = [(row.method, row.rule) for row in ROWS]
    assert len(table) == len(set(table)), "a route is listed twice"
    routes = set(_routes(app))
    assert routes - set(table) == set(), "routes missing from the permission matrix"
    assert set(table) - routes == set(), "rows for routes that no longer exist"
    print(f"permission matrix: {len(ROWS)} routes x {len(ROLES)} roles = {len(ROWS) * len(ROLES)} cells")


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_listed_answer_and_refusals_change_nothing(app, world, role):
    restore(app, world.snapshot)
    problems = [p for row in ROWS if (p := play(app, world, role, row, row.answer(role)))]
    assert not problems, "\n" + "\n".join(problems)


def test_unknown_ids_answer_404_even_to_the_admin(app, world):
    restore(app, world.snapshot)
    rows = [row for row in ROWS if "<int:" in row.rule]
    problems = [p for row in rows if (p := play(app, world, "admin", row, "404", unknown=True))]
    assert not problems, "\n" + "\n".join(problems)


def test_anonymous_callers_are_refused_before_the_body_is_read(app, world):
    """Unknown ids and an empty body: still 401, never a 404 or 422 that would tell something."""
    restore(app, world.snapshot)
    rows = [row for row in ROWS if row.is_api and row.answer("anonymous") == "401"]
    problems = [p for row in rows if (p := play(app, world, "anonymous", row, "401", unknown=True, empty=True))]
    assert not problems, "\n" + "\n".join(problems)


def test_a_session_cookie_never_authorises_a_change_through_the_api(app, world):
    """A cross-site form posting with the admin's browser gets nowhere (the
    public doors, a token or a reset link, ask for no session at all)."""
    restore(app, world.snapshot)
    rows = [row for row in ROWS if row.is_api and row.method != "GET" and row.policy != "public"]
    problems = [p for row in rows if (p := play(app, world, "admin", row, "401", session_only=True))]
    assert not problems, "\n" + "\n".join(problems)


# The object a row's rule is asked about, from the first id in its URL.
SUBJECTS = {
    "booking_id": lambda i: db.session.get(Booking, i),
    "instrument_id": lambda i: db.session.get(Instrument, i),
    "blackout_id": lambda i: db.session.get(Blackout, i).instrument,
    "qualification_id": lambda i: db.session.get(Qualification, i).instrument,
    "photo_id": lambda i: db.session.get(InstrumentPhoto, i).instrument,
    "user_id": lambda i: db.session.get(User, i),
    "invitation_id": lambda i: db.session.get(Invitation, i),
    "order_id": lambda i: db.session.get(Order, i),
    "voucher_id": lambda i: db.session.get(Voucher, i),
    "claim_id": lambda i: db.session.get(VoucherClaim, i),
}


def test_each_row_names_a_rule_of_the_policy_layer_and_its_answers_follow_it(app, world):
    """Every row names the rule behind it; where the rule can be asked (about
    the user alone, or the object in the URL), each signed-in role is refused
    (403/404) exactly when the rule says no. Lists and bodies that name
    their object (a voucher's firm, a claim's institution) are checked by
    the matrix cells and tests/test_policy.py alone."""
    restore(app, world.snapshot)
    rules = vars(policy_rules())
    problems = []
    with fixture_context(app):
        for row in ROWS:
            if row.policy == "stats_scope":  # the scope asked for, not the role alone: see the cells
                continue
            if row.policy in ("public", "signed_in"):
                refused = [role for role in ROLES[1:] if row.answer(role).rstrip("*") in ("401", "403")]
                if refused or (row.policy == "public" and row.answer("anonymous").rstrip("*") in ("401", "403")):
                    problems.append(f"{row.method} {row.rule}: {row.policy}, yet refuses {refused or 'anonymous'}")
                continue
            assert row.policy in rules, f"{row.method} {row.rule}: no policy rule named {row.policy!r}"
            rule = rules[row.policy]
            takes_object = len(inspect.signature(rule).parameters) > 1
            param = next((name for name in re.findall(r"<(?:\w+:)?(\w+)>", row.rule) if name in SUBJECTS), None)
            if takes_object and param is None:
                continue
            subject = SUBJECTS[param](world.ids[row.ids.get(param, DEFAULT_IDS.get(param, param))]) if takes_object else None
            for role in ROLES[1:]:
                user = db.session.get(User, world.user_ids[role])
                allowed = rule(user, subject) if takes_object else rule(user)
                refused = row.answer(role).rstrip("*") in ("403", "404")
                if allowed == refused:
                    problems.append(f"{row.method} {row.rule} [{row.policy}] {role}: rule says "
                                    f"{'yes' if allowed else 'no'}, the matrix {row.answer(role)}")
    assert not problems, "\n".join(problems)
