"""The site as a whole, wired at app creation: error pages for pages and
the API, security headers, the template globals (the policy layer, the
statuses, the labels), the language switch. It sits on top of every domain
package; the helpers domain views use live in web.py, below them."""
from __future__ import annotations

from types import SimpleNamespace
from urllib.parse import urlencode

from flask import Flask, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from . import formats, icons
from .accounts import policy as accounts
from .api.errors import error_response, service_error_response
from .booking import policy as booking
from .booking.models import TOOK_PLACE, BookingAction, BookingStatus
from .catalogue import policy as catalogue
from .catalogue.qualifications import my_qualifications
from .errors import ServiceError
from .extensions import login_manager
from .labels import template_helpers
from .mail.models import MessageStatus
from .orders import policy as orders
from .routing import IdConverter
from .stats import policy as stats
from .timeutil import format_minute, to_platform
from .vouchers import policy as vouchers
from .vouchers.models import ClaimLineStatus, VoucherStatus
from .web import LANGUAGES, is_api_request, safe_next_url, signed_in
from .workspace.services import is_favourite

PUBLIC_ASSETS = {"static", "bootstrap.static", "booking.photo"}  # never personal, whoever asks

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


# What an error page says for the HTTP errors error.html has no sentence of its
# own for; werkzeug's names ("Bad Request") are English.
HTTP_MESSAGES = {
    400: _l("The request could not be understood. Go back, reload the page and try again."),
    405: _l("This address does not take that kind of request."),
    409: _l("Something changed meanwhile. Reload the page and try again."),
    410: _l("This link is no longer valid."),
    413: _l("The file is too large."),
    422: _l("The request could not be handled."),
}


def _status_types() -> dict:
    return {"BookingStatus": BookingStatus, "BookingAction": BookingAction, "TOOK_PLACE": TOOK_PLACE, "VoucherStatus": VoucherStatus,
            "ClaimLineStatus": ClaimLineStatus, "MessageStatus": MessageStatus}


def policy_rules() -> SimpleNamespace:
    """The policy layer for templates: `can.view_booking(current_user, b)`
    is booking.policy.can_view_booking; every `can_*` rule of every domain's
    policy.py, so a page decides what to show by the rule its service obeys."""
    rules = {}
    for module in (accounts, catalogue, booking, vouchers, orders, stats):
        for name, function in vars(module).items():
            if name.startswith("can_") and getattr(function, "__module__", None) == module.__name__:
                assert name[4:] not in rules, f"two policy rules named {name}"
                rules[name[4:]] = function
    rules["joint_office"] = accounts.is_joint_office
    return SimpleNamespace(**rules)


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (pagination links,
    search facets). The query string is built here, not by url_for: a client
    may send any argument, `endpoint` and `_method` too, which url_for would
    take as its own (found by review: a TypeError, a 500)."""
    args = request.args.to_dict()
    args.update(changes)
    path = url_for(request.endpoint, **(request.view_args or {}))
    query = urlencode({key: value for key, value in args.items() if value is not None})
    return f"{path}?{query}" if query else path


def trust_proxies(app: Flask) -> None:
    """Behind TRUSTED_PROXIES reverse proxies, take the client's address and
    scheme from the X-Forwarded-For and X-Forwarded-Proto they add (the
    per-address login limit and secure redirects need them); with 0 (the
    default) those headers are ignored, since any client can send them.
    The Host header is not taken from X-Forwarded-Host: the proxy passes
    Host on, and links in mail use PLATFORM_URL."""
    proxies = app.config["TRUSTED_PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=0,
                                x_port=0, x_prefix=0)


def init_app(app: Flask) -> None:
    trust_proxies(app)

    app.url_map.converters["int"] = IdConverter

    login_manager.login_view = "accounts.login"
    login_manager.login_message = None

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        if is_api_request():
            return error_response(error)
        response = error.get_response()
        message = HTTP_MESSAGES.get(error.code, _l("The request could not be handled."))
        response.set_data(render_template("error.html", code=error.code, name=message))
        response.mimetype = "text/html"
        return response

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        if is_api_request():
            return error_response(error)
        # Usually a form left open past its token's life, or sent from elsewhere.
        message = _("This form has expired or did not come from this site. "
                    "Go back, reload the page and send it again.")
        return render_template("error.html", code=400, name=message), 400

    @app.errorhandler(ServiceError)
    def handle_service_error(error: ServiceError):
        if is_api_request():
            return service_error_response(error)
        # Services speak English (errors.N_); the page speaks the reader's language.
        return render_template("error.html", code=error.status, name=_(error.message)), error.status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # A 500 is a bug; it is logged with its traceback and never shown.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return jsonify(error="internal", message="Internal server error"), 500
        return render_template("error.html", code=500, name=""), 500

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # A signed-in user's pages (the profile's secret feed URL, bookings,
        # vouchers) are theirs alone: no shared cache or browser history keeps
        # them. Public pages seen anonymously, and static files, stay cacheable.
        if request.endpoint not in PUBLIC_ASSETS and signed_in():
            response.headers["Cache-Control"] = "no-store, private"
        return response

    @app.context_processor
    def template_globals():
        return {
            "current_language": "en" if get_locale().language == "en" else "zh_CN",
            "languages": LANGUAGES,
        }

    # Globals rather than context: imported macros see them too.
    app.jinja_env.globals.update(template_helpers(), url_with=url_with, icon_href=icons.icon_href, can=policy_rules(), **_status_types(),
                                 qualifications_of=my_qualifications,  # the profile page's, from above accounts
                                 is_favourite=is_favourite)  # the instrument page's star, from the workspace
    app.jinja_env.filters["hhmm"] = format_minute
    # Figures, days and times as people read them (formats.py): ¥1,234.50, 12.5 h, 33.3%,
    # 2026年12月1日周二 09:00–11:30, 2025年12月.
    for name in ("money", "hours", "count", "percent", "month", "day", "short_day", "weekday", "time_of_day",
                 "date_time", "day_and_time", "time_range", "day_range"):
        app.jinja_env.filters[name] = getattr(formats, name)
    app.jinja_env.filters["format_day"] = formats.day_with_weekday
    # A moment as a machine reads it (a link's ?start=2026-12-01T09:00, a
    # comparison of days), in the platform's zone; never text for people.
    app.jinja_env.filters["platform_time"] = lambda value, fmt: to_platform(value).strftime(fmt) if value else ""

    @app.route("/language/<code>", methods=["POST"])
    def switch_language(code: str):
        if code in LANGUAGES:
            session["language"] = code
        return redirect(safe_next_url(request.form.get("next")) or url_for("search.home"))
