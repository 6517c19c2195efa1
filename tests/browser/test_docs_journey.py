"""The documentation in a real browser (issue #19): from the footer to the
interactive API page, where Swagger UI, served from this site under its
Content-Security-Policy, lists the operations of the OpenAPI document; and
on to a guide."""
from __future__ import annotations

try:
    from playwright.sync_api import expect
except ImportError:  # the `chromium` fixture skips, or fails under REQUIRE_BROWSER=1
    expect = None


def test_the_api_page_lists_the_operations_from_the_footer(journey):
    page = journey.page
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto("/")
    with page.expect_navigation():
        page.locator('footer a[href="/api/docs"]').click()
    assert page.url == f"{journey.base_url}/api/docs"
    operations = page.locator("#swagger-ui .opblock-summary-path")
    expect(operations.filter(has_text="/api/v1/instruments").first).to_be_visible()
    expect(page.locator("#swagger-ui")).to_contain_text("/api/v1/bookings/{booking_id}/cancel")
    assert operations.count() >= 60
    # Everything the page needed came from this site: no CDN, no validator.
    foreign = [url for url in requests if not url.startswith(journey.base_url) and not url.startswith("data:")]
    assert foreign == []
    journey.step("api-docs")

    with page.expect_navigation():
        page.locator('footer a[href="/guide/firms"]').click()
    expect(page.locator("h1")).to_have_text("企业使用指南")
    journey.step("guide-for-firms")
