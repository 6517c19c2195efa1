"""`flask bench --only pages` (issue #19): the server time of each role's
main pages at the demo region's size (the budget is 30 ms a page), through
the WSGI app as a browser's request would go, signed in as the demo logins."""
from __future__ import annotations

import sqlalchemy as sa

from ..accounts.models import Role, User
from ..catalogue.models import Instrument
from ..extensions import db

# Paths per role; {instrument} is an instrument of the signed-in manager's
# institution (anyone else: the first instrument).
PAGES: dict[str | None, tuple[str, ...]] = {
    None: ("/", "/search?q=扫描电镜", "/instruments/{instrument}", "/guide/firms"),
    Role.FIRM: ("/bookings", "/vouchers/", "/orders", "/workspace", "/profile"),
    Role.MANAGER: ("/manage/", "/manage/schedule", "/manage/orders", "/manage/instruments/{instrument}"),
    Role.CITY_ADMIN: ("/vouchers/", "/stats/"),
    Role.ADMIN: ("/stats/", "/admin/mail/"),
}


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

    results = {}
    for role, paths in PAGES.items():
        email = None if role is None else logins.get(role)
        if role is not None and email is None:
            continue
        client = app.test_client()
        if email is not None:
            sign_in(client, email, password)
        instrument = _instrument_of(app, email)
        for path in paths:
            url = path.format(instrument=instrument)

            def get(url=url, client=client):
                response = client.get(url)
                if response.status_code != 200:
                    raise RuntimeError(f"{url} answered {response.status_code}")

            results[f"{role or 'anonymous'} {url}"] = _measure(get, repeat)
    return results
