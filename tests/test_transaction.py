"""One transaction per request (issue #14): the request's changes are
committed in one place, after its view succeeded, and nowhere else."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from instrument_share.extensions import db

PACKAGE = Path(__file__).resolve().parent.parent / "instrument_share"
# Work that runs outside requests commits its own transactions: the
# scheduler's jobs and election, the mail delivery run, the CLI's commands
# and the demo loader and benchmark they call, and the note of a token's
# use, written after the answer has left.
COMMITS_OUTSIDE_REQUESTS = {
    "transaction.py", "cli.py", "tools/bench.py", "demo/seed.py", "mail/delivery.py",
    "scheduler/election.py", "scheduler/jobs.py", "accounts/token_use.py",
}


def test_nothing_inside_a_request_commits_on_its_own(app):
    with app.test_request_context("/"), pytest.raises(RuntimeError, match="commit inside a request"):
        db.session.commit()


def test_only_the_boundary_and_background_work_commit():
    committing = {
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if re.search(r"\.commit\(\)", path.read_text(encoding="utf-8"))
    }
    assert committing <= COMMITS_OUTSIDE_REQUESTS, committing - COMMITS_OUTSIDE_REQUESTS


def test_a_wrong_password_is_counted_although_the_answer_is_a_refusal(client, make, app):
    """The one write that outlives its refusal: the API's 401 rolls the
    request back, but the failure count was committed before it."""
    user = make.user()
    assert client.post("/api/v1/tokens", json={"email": user.email, "password": "wrong"}).status_code == 401
    with app.app_context():
        assert db.session.get(type(user), user.id).failed_logins == 1


def test_views_and_api_routes_neither_commit_nor_roll_back():
    """They parse, call, render: a refusal they show is rolled back by
    web.refused or web.flashes_refusals, the rest by the boundary."""
    offending = [
        str(path.relative_to(PACKAGE)) for path in PACKAGE.rglob("*.py")
        if (path.name in ("views.py", "api.py") or path.name.endswith("_views.py"))
        and re.search(r"\.(commit|rollback)\(\)", path.read_text(encoding="utf-8"))
    ]
    assert not offending
