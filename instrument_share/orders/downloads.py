"""A report as the web pages and the API serve it: always an attachment,
never sniffed into something a browser would render."""
from __future__ import annotations

from flask import Response

from .models import StoredFile


def report_response(stored: StoredFile) -> Response:
    return Response(stored.data, mimetype=stored.content_type, headers={
        "Content-Disposition": f'attachment; filename="{stored.filename}"', "X-Content-Type-Options": "nosniff"})
