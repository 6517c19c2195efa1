"""Static files (web.read_static_whole): read whole and compressed like a
page, and the file closed at once, whether it is sent or not."""
from __future__ import annotations

import pytest
from flask import request

from instrument_share.web import read_static_whole


@pytest.mark.parametrize("conditional", [False, True])
def test_a_static_file_is_closed_before_the_server_ends_the_response(app, conditional):
    """A 304 kept the file open with nothing to send until the server closed
    the response; a browser leaving the page dropped the connection first,
    and the unclosed file failed a journey (CI)."""
    with app.test_request_context("/static/tables.js"):
        first = app.send_static_file("tables.js")
        etag = first.headers["ETag"]
        first.close()
    headers = {"If-None-Match": etag} if conditional else {}
    with app.test_request_context("/static/tables.js", headers=headers):
        assert request.endpoint == "static"
        response = app.send_static_file("tables.js").make_conditional(request.environ)
        stream = response.response
        response = read_static_whole(response)
        assert stream.file.closed
        assert response.status_code == (304 if conditional else 200)
        with open(f"{app.static_folder}/tables.js", "rb") as file:
            assert response.get_data() == (b"" if conditional else file.read())
