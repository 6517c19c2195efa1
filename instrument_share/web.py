"""Site-wide web behaviour: language, security headers, error pages."""
from __future__ import annotations

import unicodedata
from functools import wraps
from urllib.parse import unquote, urlsplit

from flask import (
    abort,
    current_app,
    flash,
    g,
    has_request_context,
    redirect,
    request,
    session,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from .errors import ServiceError
from .extensions import db

LANGUAGES = {"zh_CN": "中文", "en": "English"}
def select_locale() -> str:
    """Chinese first: the switch in the session, else the user's choice, else zh_CN."""
    if not has_request_context():
        return "zh_CN"  # mails and jobs choose their language with force_locale
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return chosen
    caller = g.get("api_user")  # a bearer token's user: their exports are headed in their language
    if caller is not None:
        return caller.language
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


def local_name(obj) -> str:
    """The English name in English pages when there is one, else the Chinese name."""
    if get_locale().language == "en" and getattr(obj, "name_en", ""):
        return obj.name_en
    return obj.name


FORM_ROOM = 256 * 1024  # the multipart form around an uploaded file


def upload_limit(max_bytes: int):
    """Let this view's requests past the site's 2 MB (MAX_CONTENT_LENGTH):
    up to its file limit and the form around it. A file a little over its
    limit then gets the service's message; a far larger one the 413 before
    it is read."""
    def mark(view):
        view.upload_limit = max_bytes + FORM_ROOM
        return view
    return mark


def apply_upload_limit() -> None:
    """Before every other hook (CSRF reads the form): the view's own limit."""
    view = current_app.view_functions.get(request.endpoint)
    limit = getattr(view, "upload_limit", None)
    if limit is not None:
        request.max_content_length = limit


def uploaded_bytes(upload, limit: int) -> bytes:
    """An uploaded file's bytes (one more than `limit`, so the service can
    tell it is too large), its temporary file closed at once."""
    try:
        return upload.read(limit + 1)
    finally:
        upload.close()


STATIC_ENDPOINTS = frozenset({"static", "bootstrap.static"})


def read_static_whole(response):
    """A static file leaves as a stream of the file, which Flask-Compress
    leaves alone (COMPRESS_STREAMS is off: its streaming path never closes
    the file). Read whole, it is compressed like a page. The file is closed
    here, not when the server ends the response: a 304 kept it open with
    nothing to send, and a browser that left the page meanwhile dropped the
    connection before the server closed it (a ResourceWarning that failed
    a journey)."""
    if request.endpoint in STATIC_ENDPOINTS and response.is_streamed:
        stream = response.response
        if response.status_code == 200:
            response.direct_passthrough = False
            response.response = [b"".join(response.iter_encoded())]
        elif response.status_code == 304:
            response.response = []
        else:
            return response  # a range: left to the server
        if hasattr(stream, "close"):
            stream.close()
    return response
