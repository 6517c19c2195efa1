"""Review: the monthly roll-ups' migration on a database that already has
daily rows: the months it fills are what `derive_months` gives, on the
engine under test; its downgrade and a second upgrade keep them."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from instrument_share.database import UNGUARDED
from instrument_share.extensions import db
from instrument_share.stats import rollups

from ..factories import Factories
from ..test_migrations import fresh_database


def test_the_monthly_migration_fills_the_months_of_existing_daily_rows(database_url, make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    with fresh_database(database_url, tmp_path, "review_mig") as target:
        app = make_app(SQLALCHEMY_DATABASE_URI=target)
        with app.app_context():
            # The instruments made by today's code (its flush listener writes
            # today's tables), then back to the daily roll-ups alone.
            upgrade()
            db.session.info[UNGUARDED] = True
            make = Factories()
            one, two = make.instrument(hours=[]), make.instrument(hours=[])
            db.session.commit()
            downgrade(revision="5d7f9b1c3e20")
            days = [date(2024, 1, 31), date(2024, 2, 1), date(2024, 2, 29), date(2024, 3, 1), date(2024, 12, 31),
                    date(2025, 1, 1)]
            rows = []
            for n, day in enumerate(days):
                for instrument in (one, two):
                    for city in ("", "jinhua", "hefei"):
                        rows.append({"day": day, "instrument_id": instrument.id, "firm_city": city,
                                     "booked_seconds": 3_000_000 + n, "used_seconds": 1000 + n,
                                     "staff_seconds": n, "bookings": 1, "no_shows": n % 2,
                                     "revenue_cents": 10**12 + n, "voucher_cents": n, "lost_minutes": 0 if city else 7})
            db.session.execute(sa.text(
                "INSERT INTO stats_daily (day, instrument_id, firm_city, booked_seconds, used_seconds, "
                "staff_seconds, bookings, no_shows, revenue_cents, voucher_cents, lost_minutes) VALUES "
                "(:day, :instrument_id, :firm_city, :booked_seconds, :used_seconds, :staff_seconds, :bookings, "
                ":no_shows, :revenue_cents, :voucher_cents, :lost_minutes)").bindparams(
                    sa.bindparam("day", type_=sa.Date())), rows)
            db.session.commit()
            upgrade()
            assert rollups.months_drift(days[0], days[-1]) == []
            assert db.session.scalar(sa.text("SELECT count(*) FROM stats_monthly")) == 2 * 5
            # two institutions, three cities ('' too)
            assert db.session.scalar(sa.text("SELECT count(*) FROM stats_institution_monthly")) == 5 * 2 * 3
            db.session.commit()
            downgrade(revision="5d7f9b1c3e20")
            upgrade()
            assert rollups.months_drift(days[0], days[-1]) == []
            db.session.commit()
            db.engine.dispose()
