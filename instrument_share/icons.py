"""The Bootstrap Icons the pages use (issue #19), served from the installed
Bootstrap-Flask package, never a CDN and never copied into the repository.

The package's sprite holds every icon, 1.1 MB (231 KB compressed): loaded
by a page it alone would pass the 150 KB first-load budget. /icons.svg is a
sprite of just the icons named in `NAMES`, cut from the package's file once
per process (a few KB, cached by the browser); the `icon` macro refers to
it. A name that is not in `NAMES` fails the page that uses it (the page
walk renders every page), rather than showing an empty box."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import flask_bootstrap
from flask import Blueprint, current_app, request, url_for

bp = Blueprint("icons", __name__)

NAMES = frozenset({"box-arrow-right", "calendar-plus", "inbox", "person-circle", "person-workspace", "search",
                   "sliders"})
PACKAGE_SPRITE = Path(flask_bootstrap.__file__).parent / "static" / "bootstrap5" / "icons" / "bootstrap-icons.svg"
SYMBOL = re.compile(r'<symbol\b[^>]*\bid="([a-z0-9-]+)"[^>]*>.*?</symbol>', re.S)


@cache
def sprite() -> bytes:
    symbols = {match.group(1): match.group(0) for match in SYMBOL.finditer(PACKAGE_SPRITE.read_text("utf-8"))}
    missing = NAMES - set(symbols)
    if missing:
        raise RuntimeError(f"not in Bootstrap-Flask's icons: {sorted(missing)}")
    body = "".join(symbols[name] for name in sorted(NAMES))
    return f'<svg xmlns="http://www.w3.org/2000/svg">{body}</svg>'.encode()


@bp.get("/icons.svg")
def icons_svg():
    response = current_app.response_class(sprite(), mimetype="image/svg+xml")
    response.add_etag()
    return response.make_conditional(request)


def icon_href(name: str) -> str:
    """The address of one icon of the sprite (for `<use href>`)."""
    if name not in NAMES:
        raise ValueError(f"icon {name!r} is not in icons.NAMES")
    return f"{url_for('icons.icons_svg')}#{name}"
