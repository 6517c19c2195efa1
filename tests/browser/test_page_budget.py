"""Page weight budget (issue #19): each main page of every role, loaded
fresh (an empty browser cache), transfers at most 150 KB with its CSS,
JavaScript, fonts and images.

The bytes are the browser's own count, the Resource Timing API's
transferSize of the document and of every resource it loaded (headers and
the body as sent, so compressed when the server compresses). The figures of
the last run are written beside the screenshots in tests/artifacts/."""
from __future__ import annotations

import json

import pytest

from .test_accessibility_journey import build_corridor, role_pages
from .test_journeys import in_app

BUDGET = 150_000  # bytes

# Everything the page loaded, once the load event has passed and the network is idle.
TRANSFERRED = """() => {
  const entries = performance.getEntriesByType("navigation").concat(performance.getEntriesByType("resource"));
  return entries.map(e => ({url: e.name, type: e.initiatorType || "document",
                            transfer: e.transferSize, body: e.encodedBodySize, decoded: e.decodedBodySize}));
}"""


def weigh(context, path: str) -> tuple[int, list[dict]]:
    page = context.new_page()
    try:
        page.goto(path, wait_until="networkidle")
        entries = page.evaluate(TRANSFERRED)
    finally:
        page.close()
    return sum(e["transfer"] for e in entries), entries


@pytest.mark.slow
def test_every_main_page_weighs_at_most_150_kb_on_first_load(app, journey, chromium, live_server):
    corridor = in_app(app, build_corridor)
    figures, over = {}, []
    for role, (email, pages) in role_pages(corridor).items():
        context = journey.page.context
        context.clear_cookies()
        if email is not None:
            journey.sign_in(email)
        signed_in = context.storage_state()  # the session cookie, nothing cached
        for name, path in pages:
            fresh = chromium.new_context(base_url=live_server, storage_state=signed_in, locale="zh-CN",
                                         viewport={"width": 1366, "height": 900})
            try:
                total, entries = weigh(fresh, path)
            finally:
                fresh.close()
            figures[f"{role}/{name}"] = {"total": total, "entries": entries}
            if total > BUDGET:
                heaviest = sorted(entries, key=lambda e: -e["transfer"])[:4]
                over.append(f"{role} {name} ({path}): {total:,} bytes; heaviest: "
                            + ", ".join(f"{e['url'].split('/', 3)[-1]} {e['transfer']:,}" for e in heaviest))
    (journey.folder / "page-weights.json").write_text(json.dumps(figures, indent=1))
    assert len(figures) == 22
    assert all(f["total"] > 0 for f in figures.values()), "the browser reported no transfer sizes"
    assert not over, f"pages over {BUDGET:,} bytes on first load:\n" + "\n".join(over)
