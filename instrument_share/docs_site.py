"""Documentation a client can use (issue #19): the interactive API page and
the guides for firms and institutions.

/api/docs is Swagger UI on the OpenAPI document, served from the
swagger-ui-bundle package like Bootstrap is from Bootstrap-Flask: the
platform must work on a closed network, so never a CDN (flask-smorest's
OPENAPI_SWAGGER_UI_URL points at one). The page starts Swagger UI from our
own static/api_docs.js, so the site's Content-Security-Policy
(script-src 'self') holds on it as on every other page.

The guides are prose, one template per language, chosen by the page's
language: they need no catalogue entries."""
from __future__ import annotations

import mimetypes
from functools import cache

from flask import Blueprint, current_app, render_template, request, url_for
from flask_babel import get_locale
from swagger_ui_bundle import swagger_ui_path

bp = Blueprint("docs", __name__)

# The files of the bundle the page loads, each its own route (nothing else
# of the package is served).
SWAGGER_UI_FILES = ("swagger-ui.css", "swagger-ui-bundle.js")


@bp.get("/api/docs")
def api_docs():
    return render_template("docs/api.html", spec_url=url_for("api-docs.openapi_json"))


@cache
def _bundle_file(filename: str) -> bytes:
    return (swagger_ui_path / filename).read_bytes()


def swagger_ui(filename: str):
    # Held in memory (1.2 MB, read once), not streamed from an open file:
    # nothing is left to close when a client drops the answer.
    response = current_app.response_class(_bundle_file(filename), mimetype=mimetypes.guess_type(filename)[0])
    response.add_etag()
    return response.make_conditional(request)


for _name in SWAGGER_UI_FILES:
    bp.add_url_rule(f"/api/docs/swagger-ui/{_name}", view_func=swagger_ui, defaults={"filename": _name})


# One rule per guide rather than a variable part: the links and the
# permission matrix name the real pages.
@bp.get("/guide/firms", defaults={"audience": "firms"})
@bp.get("/guide/institutions", defaults={"audience": "institutions"})
def guide(audience: str):
    language = "en" if get_locale().language == "en" else "zh_CN"
    return render_template(f"guide/{audience}.{language}.html")
