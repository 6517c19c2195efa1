"""One transaction per request, committed in one place.

A view parses, calls services and renders; it never commits. When it has
returned a response below 400, `InstrumentShareApp.dispatch_request`
commits the request's changes, before the response leaves: a commit that
fails becomes an error answer, never a success whose change is lost. A view
that raises (a refusal, a bug) or answers 400 or more leaves nothing
behind: Flask-SQLAlchemy's teardown rolls the session back.

A view that catches a refusal to show it (a form with its errors, a flashed
message) rolls back before it renders, so the page shows what is stored and
not the refused change.

Nothing else inside a request may commit (`_commit_at_the_boundary_only`
raises): a service cannot make half a request permanent. The one write that
must outlive the refusal that follows it, a counted failed sign-in, goes
through `commit_before_refusal`. The scheduler's jobs and the CLI commands
run outside requests and commit their own transactions.
"""
from __future__ import annotations

from flask import Flask, has_request_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from .database import UNGUARDED
from .extensions import db

_COMMIT_ALLOWED = "instrument_share.commit_allowed"


class InstrumentShareApp(Flask):
    """Flask, with each request's changes committed once its view succeeded."""

    def dispatch_request(self):
        response = self.make_response(super().dispatch_request())
        if response.status_code < 400:
            _commit()
        else:
            db.session.rollback()
        return response


def _commit() -> None:
    session = db.session()
    session.info[_COMMIT_ALLOWED] = True
    try:
        session.commit()
    finally:
        session.info.pop(_COMMIT_ALLOWED, None)


def commit_before_refusal() -> None:
    """Commit what this request wrote so far, because a refusal follows that
    must not undo it: a failed sign-in is counted (and the lock it may set
    is kept) although the request answers 'wrong e-mail or password'."""
    _commit()


@event.listens_for(Session, "before_commit")
def _commit_at_the_boundary_only(session: Session) -> None:
    if has_request_context() and not session.info.get(_COMMIT_ALLOWED) and not session.info.get(UNGUARDED):
        raise RuntimeError("a commit inside a request: the request's transaction commits once, "
                           "after its view returned (instrument_share.transaction)")
