"""Site-wide web behaviour: language, security headers, error pages."""
from __future__ import annotations

import unicodedata
from functools import wraps
from types import SimpleNamespace
from urllib.parse import unquote, urlsplit

from flask import (
    Flask,
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import ServiceError
from .extensions import db, login_manager
from .labels import template_helpers
from .timeutil import format_minute, to_platform

LANGUAGES = {"zh_CN": "中文", "en": "English"}
PUBLIC_ASSETS = {"static", "bootstrap.static"}  # never personal, whoever asks

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def select_locale() -> str:
    """Chinese first: the switch in the session, else the user's choice, else zh_CN."""
    if not has_request_context():
        return "zh_CN"  # mails and jobs choose their language with force_locale
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    if current_user and current_user.is_authenticated:
        return current_user.language
    return "zh_CN"


def is_api_request() -> bool:
    return request.path.startswith("/api/")


_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}


def _plain(text: str) -> bool:
    """No whitespace, control or format characters (tab, line breaks,
    zero-width spaces …), which browsers drop from URLs or read as gaps."""
    return not any(ch.isspace() or unicodedata.category(ch) in _UNSAFE_CATEGORIES for ch in text)


def safe_next_url(target: str | None) -> str | None:
    """The one check of every `next` redirect: a path on this site, or None.

    Browsers are lenient: they drop tabs and line breaks inside a URL, read
    `\\` as `/`, and take `//host` or `/\\host` for another site. So only a
    plain path is taken: it starts with a single `/`, holds no whitespace,
    control character or backslash, has no scheme or host, and the same
    holds for its path once percent-decoding is undone (`/%2F/evil.example`,
    `/%09/evil.example`).
    """
    if not target or len(target) > 2000 or not _plain(target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    path = parts.path
    for _round in range(4):  # undo nested encodings; a deeper one is refused
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    else:
        return None
    if not path.startswith("/") or path.startswith("//") or "\\" in path or not _plain(path):
        return None
    return target


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link to one of our pages, always on PLATFORM_URL and never
    on the Host header a request came with (anyone can send a forged one,
    which would then travel in API answers, feeds and mails)."""
    base = urlsplit(current_app.config["PLATFORM_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path.rstrip("/") or "/",
                                       url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def signed_in() -> bool:
    """Whether this response is for a signed-in user (session or API token)."""
    return g.get("api_user") is not None or bool(current_user and current_user.is_authenticated)


def _status_types() -> dict:
    from .booking.models import TOOK_PLACE, BookingAction, BookingStatus
    from .mail.models import MessageStatus
    from .vouchers.models import ClaimLineStatus, VoucherStatus

    return {"BookingStatus": BookingStatus, "BookingAction": BookingAction, "TOOK_PLACE": TOOK_PLACE, "VoucherStatus": VoucherStatus,
            "ClaimLineStatus": ClaimLineStatus, "MessageStatus": MessageStatus}


def refused(error, form=None, default_field=None):
    """Show a service's refusal on the page being rendered. The request's
    changes are rolled back first, so the page shows what is stored, not the
    refused change. With a form, each field's messages go beside that field
    (an unknown field's beside `default_field`, or above the form), and the
    refusal itself above the form when it names no field. Translated here:
    services speak English. Returns the error, for the page to show."""
    db.session.rollback()
    if form is None:
        return error
    for name, messages in error.fields.items():
        field = getattr(form, name, None) or default_field
        target = field.errors if field is not None else form.form_errors
        target.extend(_(message) for message in messages)
    if not error.fields:
        form.form_errors.append(_(error.message))
    return error


def flashes_refusals(back):
    """For a button's POST view, which calls a service, flashes its success
    and redirects. A refusal is rolled back and flashed on the page
    `back(**view_args)` names (or the same-site `next` the button sent);
    a 403 or 404 is answered as such: the button is never shown for it."""
    def decorate(view):
        @wraps(view)
        def button_action(**view_args):
            try:
                return view(**view_args)
            except ServiceError as error:
                refused(error)
                if error.status in (403, 404):
                    abort(error.status)
                flash(refusal_message(error), "danger")
                return redirect(safe_next_url(request.form.get("next")) or back(**view_args))
        return button_action
    return decorate


def refusal_message(error) -> str:
    """A service's refusal as one flashed message: the reason, then what
    each field says (a file's problems by line: 第 N 行 / Line N)."""
    details = []
    for name, messages in error.fields.items():
        text = " ".join(_(message) for message in messages)
        number = str(name).removeprefix("line ")
        details.append(_("Line %(n)s: %(problem)s", n=number, problem=text) if number.isdigit() else text)
    return " ".join([_(error.message), *details]).strip()


def policy_rules() -> SimpleNamespace:
    """The policy layer for templates: `can.view_booking(current_user, b)`
    is booking.policy.can_view_booking; every `can_*` rule of every domain's
    policy.py, so a page decides what to show by the rule its service obeys."""
    from .accounts import policy as accounts
    from .booking import policy as booking
    from .catalogue import policy as catalogue
    from .stats import policy as stats
    from .vouchers import policy as vouchers

    rules = {}
    for module in (accounts, catalogue, booking, vouchers, stats):
        for name, function in vars(module).items():
            if name.startswith("can_") and getattr(function, "__module__", None) == module.__name__:
                assert name[4:] not in rules, f"two policy rules named {name}"
                rules[name[4:]] = function
    rules["joint_office"] = accounts.is_joint_office
    return SimpleNamespace(**rules)


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (pagination links)."""
    args = request.args.to_dict()
    args.update({k: v for k, v in changes.items()})
    return url_for(request.endpoint, **(request.view_args or {}), **args)


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
    from .api.errors import error_response, service_error_response
    from .routing import IdConverter

    trust_proxies(app)

    app.url_map.converters["int"] = IdConverter

    login_manager.login_view = "accounts.login"
    login_manager.login_message = None

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        if is_api_request():
            return error_response(error)
        response = error.get_response()
        response.set_data(render_template("error.html", code=error.code, name=error.name))
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
        return render_template("error.html", code=error.status, name=error.message), error.status

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # A 500 is a bug; it is logged with its traceback and never shown.
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if is_api_request():
            return jsonify(error="internal", message="Internal server error"), 500
        return render_template("error.html", code=500, name="Internal Server Error"), 500

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
    app.jinja_env.globals.update(template_helpers(), url_with=url_with, can=policy_rules(), **_status_types())
    app.jinja_env.filters["hhmm"] = format_minute
    app.jinja_env.filters["platform_time"] = lambda value, fmt="%Y-%m-%d %H:%M": (
        to_platform(value).strftime(fmt) if value else ""
    )

    @app.route("/language/<code>", methods=["POST"])
    def switch_language(code: str):
        if code in LANGUAGES:
            session["language"] = code
        return redirect(safe_next_url(request.form.get("next")) or url_for("catalogue.home"))
