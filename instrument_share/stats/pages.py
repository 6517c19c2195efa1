"""Dashboards made by the scheduler and shared by every web worker (issue
#20; README, "Statistics (roll-ups)").

The default dashboard of the corridor (the joint office's) and of each city
(its bureau's, and the joint office's filtered to it) sums some 20,000
instruments: a few hundred milliseconds of database work. The `statistics-pages`
job makes them whenever the statistics' versions have changed and stores
their figures here; a reader is served the stored page:

- as it is when it was made at the versions of now (`tokens`): the figures
  are the ones a page made for this request would show;
- when a change came after it, for up to FRESH after the job last found it
  current (`checked_at`): the page then says from when its figures are, and
  the job's next run (every RUN_EVERY) makes it again. Past days' figures
  change when usage or a no-show is recorded, an order reported, an
  instrument edited; half a minute later is soon enough for a page that
  reviews a month, and no reader waits for the corridor to be summed;
- otherwise (the scheduler is down, or the page was never made) not at all:
  the reader's request makes the page, as for any other scope or period.

A page is stored only when the versions did not change while it was made
(read before and after each page), so a stored page never mixes figures
from before and after a change.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.policy import Scope
from ..extensions import db
from ..sql import dialect
from ..timeutil import platform_zone, utcnow
from .models import StatsPage

PACKAGE = Path(__file__).resolve().parent.parent

RUN_EVERY = timedelta(seconds=30)
FRESH = timedelta(seconds=60)  # how long after the job last found a page current it is still served


@dataclass(frozen=True)
class StoredPage:
    figures: dict
    current: bool           # made at the versions of now
    checked_at: datetime    # when the job last found it current


def made_for(scope: Scope, period_first: date, period_last: date, default: tuple[date, date]) -> bool:
    """Whether the job makes this page: the default period, of the corridor
    or of one whole city (an institution's page is small enough to make on
    request)."""
    return scope.institution_id is None and (period_first, period_last) == default


def key(scope: Scope, first: date, last: date) -> str:
    """The page's key: what its figures depend on besides the versions: the
    release that made them (`release`), the platform's zone (which bookings
    fall on which day), the scope and the period; as JSON, so that no city
    asked for can be taken for another or for the corridor (found by review)."""
    return json.dumps([release(), platform_zone().key, scope.city, first.isoformat(), last.isoformat()])


@cache
def release() -> str:
    """The code that makes the figures, as a digest of every module of the
    application: a page stored by another release, whose figures may mean
    something else or have another shape, is never read, not even in the
    minute after a change, and the job's next run drops it (the versions do
    not change with a deployment; found by review)."""
    digest = hashlib.sha256()
    for path in sorted(PACKAGE.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def digest(token: str | None, days: tuple) -> str:
    """The statistics' versions as one string: the platform's token and the
    tokens of the days the page reads."""
    return hashlib.sha256(repr((token, days)).encode()).hexdigest()


def read(page_key: str, tokens: str) -> StoredPage | None:
    """The stored page of `page_key`, if it may be served now (see above)."""
    row = db.session.execute(sa.select(StatsPage.tokens, StatsPage.checked_at, StatsPage.body)
                             .where(StatsPage.key == page_key)).first()
    if row is None:
        return None
    current = row.tokens == tokens
    if not current and row.checked_at < utcnow() - FRESH:
        return None
    return StoredPage(figures=json.loads(row.body, object_hook=_untagged), current=current,
                      checked_at=row.checked_at)


def stored_tokens(keys: list[str]) -> dict[str, str]:
    return dict(db.session.execute(sa.select(StatsPage.key, StatsPage.tokens).where(StatsPage.key.in_(keys))).all())


def write(made: dict[str, tuple[dict, str, datetime]], tokens: str, checked_at: datetime, keep: list[str]) -> None:
    """Store the pages `made` ({key: (figures, the tokens they were made
    at, when they were last found current)}), drop every page not in
    `keep` (those of the periods before today's, of another release) and
    mark those left that are stored at `tokens`, the versions of now, as
    found current at `checked_at`. Inside the caller's write transaction.
    The hosts' clocks are kept in step (NTP), as the scheduler's lease and
    the sessions already assume."""
    db.session.execute(sa.delete(StatsPage).where(StatsPage.key.not_in(keep)))
    db.session.execute(sa.update(StatsPage).where(StatsPage.tokens == tokens).values(checked_at=checked_at))
    insert = (postgresql.insert if dialect() == "postgresql" else sqlite.insert)(StatsPage)
    for page_key, (figures, page_tokens, found_current) in made.items():
        # An upsert: a run by hand beside the scheduler's may store the same
        # page (found by review: delete-then-insert failed on PostgreSQL).
        db.session.execute(insert.values(
            key=page_key, tokens=page_tokens, made_at=found_current, checked_at=found_current,
            body=json.dumps(figures, default=_tagged, separators=(",", ":"), ensure_ascii=False),
        ).on_conflict_do_update(index_elements=[StatsPage.key], set_={
            name: insert.excluded[name] for name in ("tokens", "made_at", "checked_at", "body")}))


def _tagged(value):
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"a dashboard holds no {type(value).__name__}")


def _untagged(found: dict):
    # No figure is a dict keyed "$decimal": a tag is never taken for a row.
    return Decimal(found["$decimal"]) if "$decimal" in found else found
