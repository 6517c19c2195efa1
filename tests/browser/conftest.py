"""Browser journeys: Playwright drives the system's chromium against the app
served over real HTTP on the test database.

Without chromium (or the playwright package) the journeys are skipped, unless
REQUIRE_BROWSER=1 (CI), where that is a failure. One browser serves the whole
session; each test gets its own context (no shared cookies), a folder of
screenshots under tests/artifacts/, and fails on any JavaScript error,
console error, CSP violation or failed request.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import struct
import zlib
from pathlib import Path
from urllib.parse import urljoin

import pytest

from ..factories import PASSWORD
from ..served import served

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}  # wide enough for the week table (d-md-block)

# Chromium also logs CSP violations to the console; the event says which directive.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline"));
});
"""


def _unavailable(reason: str):
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium under Playwright, one for the session."""
    executable = shutil.which("chromium")
    if executable is None:
        _unavailable("chromium is not installed (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_server(app):
    """The test app over HTTP; the same database as the `app` fixture."""
    with served(app) as base_url:
        yield base_url


def png_summary(data: bytes) -> tuple[int, int, int]:
    """(width, height, distinct byte values in the scanlines) of a PNG.

    A picture of one colour, whatever PNG filter each row uses, holds at most
    a dozen distinct byte values (the colour's channels, zeros, and a few
    filter remainders at the edges); rendered text and pictures hold well over
    a hundred. That tells a painted page from a blank one without decoding
    every pixel in Python.
    """
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, width, height, idat = 8, 0, 0, []
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind = data[position + 4:position + 8]
        body = data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in {kind!r} chunk"
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour in (2, 6), "expected 8-bit RGB(A)"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        position += 12 + length
    pixels = zlib.decompress(b"".join(idat))
    assert width and height and len(pixels) == height * (1 + width * channels), "truncated PNG"
    return width, height, len(set(pixels))


def assert_painted(path: Path) -> None:
    """The screenshot exists, is a whole PNG, and is not one flat colour."""
    assert path.is_file() and path.stat().st_size > 0, f"{path} is missing or empty"
    width, height, distinct = png_summary(path.read_bytes())
    assert width >= VIEWPORT["width"] and height >= VIEWPORT["height"], f"{path} is {width}x{height}"
    assert distinct > 64, f"{path} looks blank ({distinct} distinct byte values)"


class Journey:
    """One person's visit: the page, numbered screenshots, and every error seen."""

    def __init__(self, page, base_url: str, folder: Path):
        self.page, self.base_url, self.folder = page, base_url, folder
        self.errors: list[str] = []
        self._attachments: set[str] = set()
        self.steps = 0
        page.on("pageerror", lambda error: self.errors.append(f"JavaScript error: {error}"))
        page.on("console", self._console)
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console error on {self.page.url}: {message.text}")

    def _request_failed(self, request) -> None:
        # Chromium aborts what a page still fetches when the person leaves it
        # (a script still loading, suggestions on their way, the favicon asked
        # for after load): not an error of ours. A missing or failing file is
        # still caught, as an HTTP status in _response, and a page that itself
        # fails to load is still reported here.
        if request.failure == "net::ERR_ABORTED" and request.resource_type != "document":
            return
        # A link answered with Content-Disposition: attachment becomes a
        # download, and Chromium reports the navigation it replaced as aborted.
        if request.failure == "net::ERR_ABORTED" and request.url in self._attachments:
            return
        self.errors.append(f"request failed: {request.method} {request.url}: {request.failure}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.errors.append(f"HTTP {response.status} for {response.request.method} {response.url}")

    def download(self, link):
        """Click `link` to a file sent as an attachment; return the download."""
        self._attachments.add(urljoin(self.page.url, link.get_attribute("href")))
        with self.page.expect_download() as info:
            link.click()
        return info.value

    def assert_no_errors(self, where: str = "") -> None:
        if self.errors:
            found, self.errors = self.errors, []  # each error is reported once
            raise AssertionError(f"errors in the browser{' at ' + where if where else ''}:\n" + "\n".join(found))

    def step(self, name: str) -> Path:
        """Screenshot the whole page as the next step, check it, and check nothing went wrong."""
        self.steps += 1
        path = self.folder / f"{self.steps:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        assert_painted(path)
        self.assert_no_errors(name)
        return path

    def sign_in(self, email: str, password: str = PASSWORD) -> None:
        page = self.page
        page.goto("/login")
        main = page.locator("main")
        main.get_by_label("电子邮箱").fill(email)
        main.get_by_label("密码", exact=True).fill(password)
        with page.expect_navigation():
            main.get_by_role("button", name="登录").click()
        # A firm user lands on the workspace, everyone else on the home page.
        assert page.url.rstrip("/") in (self.base_url, f"{self.base_url}/workspace"), page.url


@pytest.fixture
def journey(request, chromium, live_server):
    """A fresh browser context (own cookies) on the served app, Chinese by default."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    context = chromium.new_context(
        base_url=live_server, viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai",
        accept_downloads=True,
    )
    context.set_default_timeout(15_000)
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    visit = Journey(context.new_page(), live_server, folder)
    try:
        yield visit
        visit.assert_no_errors("the end of the journey")
    finally:
        report = getattr(request.node, "call_report", None)
        if report is not None and report.failed:
            with contextlib.suppress(Exception):  # where the journey stopped
                visit.page.screenshot(path=str(folder / "failed.png"), full_page=True)
        context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.call_report = report  # the `journey` fixture screenshots a failure
    return report
