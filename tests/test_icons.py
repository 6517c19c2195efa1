"""Icons (issue #19): a light sprite of the icons the pages use, cut from
Bootstrap-Flask's package at run time, and a page naming an unknown icon fails."""
from __future__ import annotations

import re

import pytest

from instrument_share import icons


def test_the_sprite_holds_the_icons_the_pages_use_and_no_more(client):
    response = client.get("/icons.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    body = response.get_data(as_text=True)
    assert set(re.findall(r'<symbol\b[^>]*\bid="([a-z0-9-]+)"', body)) == icons.NAMES
    assert len(response.data) < 16_000  # the package's sprite is 1.1 MB
    assert client.get("/icons.svg", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    home = client.get("/").get_data(as_text=True)
    assert '<use href="/icons.svg#search">' in home and "bootstrap-icons.svg" not in home


def test_an_icon_not_in_the_sprite_is_refused(app):
    with app.test_request_context():
        assert icons.icon_href("inbox") == "/icons.svg#inbox"
        with pytest.raises(ValueError, match="not in icons.NAMES"):
            icons.icon_href("rocket")
