"""`flask bench --only pages` (issue #19): the server time of each role's
main pages at the demo region's size (the budget is 30 ms a page), through
the WSGI app as a browser's request would go, signed in as the demo logins."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..catalogue.models import Instrument
from ..extensions import db
from ..timeutil import platform_today

# Paths per role; {instrument} is an instrument of the signed-in manager's
# institution (anyone else: the first instrument), {day} a weekday a week
# ahead (the booking form for 14:00-15:00 of it).
PAGES: dict[str | None, tuple[str, ...]] = {
    None: ("/", "/search?q=扫描电镜", "/instruments/{instrument}", "/guide/firms", "/login", "/register"),
    Role.FIRM: ("/bookings", "/vouchers/", "/orders", "/workspace", "/profile",
                "/instruments/{instrument}?start={day}T14:00&end={day}T15:00", "/instruments/{instrument}/order"),
    Role.MANAGER: ("/manage/", "/manage/schedule", "/manage/schedule?view=week", "/manage/orders",
                   "/manage/instruments/{instrument}", "/instruments/{instrument}"),
    Role.CITY_ADMIN: ("/vouchers/", "/stats/"),
    Role.ADMIN: ("/stats/", "/admin/mail/"),
}


def _weekday_ahead(app) -> str:
    with app.app_context():
        day = platform_today() + timedelta(days=7)
    while day.weekday() >= 5:  # Monday to Friday: the demo's instruments are open then
        day += timedelta(days=1)
    return day.isoformat()


def _instrument_of(app, email: str | None) -> int:
    with app.app_context():
        query = sa.select(sa.func.min(Instrument.id))
        if email is not None:
            institution = db.session.scalar(sa.select(User.institution_id).where(User.email == email))
            if institution is not None:
                query = query.where(Instrument.institution_id == institution)
        return db.session.scalar(query)


def measure_pages(app, logins: dict[str, str], password: str, repeat: int) -> dict[str, dict]:
    """p50/p95 of each page in `PAGES` for each role in `logins` {role: email}
    (and signed out), keyed "role path"."""
    from .bench import _measure, sign_in

    results, day = {}, _weekday_ahead(app)
    for role, paths in PAGES.items():
        email = None if role is None else logins.get(role)
        if role is not None and email is None:
            continue
        client = app.test_client()
        if email is not None:
            sign_in(client, email, password)
        instrument = _instrument_of(app, email)
        for path in paths:
            url = path.format(instrument=instrument, day=day)

            def get(url=url, client=client):
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")

            results[f"{role or 'anonymous'} {url}"] = _measure(get, repeat)
    return results
