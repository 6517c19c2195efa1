"""docs/api.md, the contract a client reads, names exactly the endpoints the
OpenAPI document serves (issue #19): an endpoint added to the code without
a line in the docs, or a line left after its endpoint went, fails here."""
from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")

# `POST /api/v1/bookings/{id}/cancel`, `GET /api/v1/institutions?city=`, and
# the contract's shorthand `POST .../approve` (a step of the resource named
# just before it).
ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/api/v1/[^`\s?]*|\.\.\./[^`\s?]*)")
# The document itself is not one of its own paths.
THE_DOCUMENT = ("GET", "/api/v1/openapi.json")


def normalised(path: str) -> str:
    """Path parameters by position only: {id}, {booking_id} and <int:id> are one."""
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path)


def _resource(path: str) -> str:
    """What `...` stands for after `path`: the path up to its last parameter."""
    parts = path.split("/")
    last = max((i for i, part in enumerate(parts) if part.startswith("{")), default=len(parts) - 1)
    return "/".join(parts[: last + 1])


def documented_endpoints(text: str) -> set[tuple[str, str]]:
    found, previous = set(), None
    for method, path in ENDPOINT.findall(text):
        if path.startswith("..."):
            assert previous, f"`{method} {path}` has no path before it to stand for"
            path = _resource(previous) + path[3:]
        previous = path
        found.add((method, normalised(path)))
    found.discard(THE_DOCUMENT)
    return found


def served_endpoints(spec: dict) -> set[tuple[str, str]]:
    return {(method.upper(), normalised(path)) for path, operations in spec["paths"].items()
            for method in operations if method in METHODS}


def test_the_shorthand_of_the_contract_is_read_as_a_person_reads_it():
    text = ("`GET /api/v1/bookings/{id}`; `POST /api/v1/bookings/{id}/cancel`; managers: "
            "`POST .../approve`, `GET /api/v1/institutions?city=` `PATCH /api/v1/x/<int:x_id>`")
    assert documented_endpoints(text) == {
        ("GET", "/api/v1/bookings/{}"), ("POST", "/api/v1/bookings/{}/cancel"),
        ("POST", "/api/v1/bookings/{}/approve"), ("GET", "/api/v1/institutions"), ("PATCH", "/api/v1/x/{}")}


def test_the_docs_list_every_endpoint_of_the_openapi_document_and_no_other(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    documented = documented_endpoints(DOCS.read_text(encoding="utf-8"))
    served = served_endpoints(spec)
    undocumented = sorted(served - documented)
    unserved = sorted(documented - served)
    assert not undocumented, f"served but not in docs/api.md (add them, e.g. under 'Beyond the contract'): {undocumented}"
    assert not unserved, f"in docs/api.md but not in the OpenAPI document: {unserved}"


def test_the_contract_comes_before_what_lies_beyond_it():
    text = DOCS.read_text(encoding="utf-8")
    assert text.startswith("# The public contract of instrument-share\n")
    assert text.count("\n## Beyond the contract\n") == 1


# The interactive page (/api/docs): Swagger UI from the swagger-ui-bundle
# package, started by our own script under the site's CSP.

CONTENT_TYPES = {".css": "text/css", ".js": "text/javascript"}


def _assets(html: str) -> list[str]:
    return re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)


def test_the_api_page_loads_swagger_ui_from_this_site_on_the_openapi_document(client):
    response = client.get("/api/docs")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert client.get("/api/v1/openapi.json").status_code == 200
    assets = _assets(html)
    assert {"/api/docs/swagger-ui/swagger-ui.css", "/api/docs/swagger-ui/swagger-ui-bundle.js",
            "/static/api_docs.js"} <= set(assets)
    for url in assets:
        assert url.startswith("/") and not url.startswith("//"), f"{url}: not from this site (a CDN?)"
        path = url.split("?")[0]
        asset = client.get(url)
        assert asset.status_code == 200, url
        expected = next((kind for ending, kind in CONTENT_TYPES.items() if path.endswith(ending)), None)
        if expected:
            assert asset.mimetype == expected, url
        asset.close()


def test_the_api_page_keeps_the_sites_content_security_policy(client):
    from instrument_share.site import CONTENT_SECURITY_POLICY

    response = client.get("/api/docs")
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    html = response.get_data(as_text=True)
    # script-src 'self': every script is a file, none is written in the page.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html


def test_only_the_bundle_files_the_page_uses_are_served(client):
    assert client.get("/api/docs/swagger-ui/index.html").status_code == 404
    assert client.get("/api/docs/swagger-ui/../../openapi.json").status_code == 404


def test_a_conditional_request_for_a_bundle_file_is_answered_without_the_file(client):
    first = client.get("/api/docs/swagger-ui/swagger-ui-bundle.js")
    again = client.get("/api/docs/swagger-ui/swagger-ui-bundle.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_profile_names_the_api_page_beside_the_tokens(browser, client, make):
    make.user(email="eng@firm.example")
    browser.login("eng@firm.example")
    html = client.get("/profile").get_data(as_text=True)
    tokens = html[html.index('id="tokens"'):html.index('id="password"')]
    assert 'href="/api/docs"' in tokens
