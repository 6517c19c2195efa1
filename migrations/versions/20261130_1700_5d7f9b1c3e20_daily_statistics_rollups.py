"""Daily statistics roll-ups (issue #20): `stats_daily`, per day (platform
zone), instrument and booking firm's city, the additive figures every
statistic is built from; filled here from the existing rows by the same
computation `flask stats rebuild` uses (`stats.rollups.compute`), a month at
a time. Only this revision's columns are written, so a later revision that
adds a column still upgrades through this one.

Revision ID: 5d7f9b1c3e20
Revises: 9c4e2a7f1b36
Create Date: 2026-11-30 17:00:00

"""
from datetime import timedelta

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

# revision identifiers, used by Alembic.
revision = '5d7f9b1c3e20'
down_revision = '9c4e2a7f1b36'
branch_labels = None
depends_on = None

COLUMNS = ("booked_seconds", "used_seconds", "staff_seconds", "bookings", "no_shows", "revenue_cents",
           "voucher_cents", "lost_minutes")


def upgrade():
    table = op.create_table(
        'stats_daily',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('firm_city', sa.String(length=20), nullable=False),
        *(sa.Column(name, sa.Integer() if name in ("bookings", "no_shows", "lost_minutes") else sa.BigInteger(),
                    nullable=False) for name in COLUMNS),
        sa.PrimaryKeyConstraint('day', 'instrument_id', 'firm_city', name=op.f('pk_stats_daily')),
        sqlite_with_rowid=False,
    )
    _fill(table)


def _fill(table):
    from instrument_share.stats import rollups
    from instrument_share.timeutil import platform_zone

    from instrument_share.booking.models import Blackout, Booking

    session = Session(bind=op.get_bind())
    spans = [session.execute(sa.select(sa.func.min(model.start), sa.func.max(model.end))).one()
             for model in (Booking, Blackout)]
    starts = [span[0] for span in spans if span[0] is not None]
    if not starts:
        return
    first, last = min(starts), max(span[1] for span in spans if span[1] is not None)
    zone = platform_zone()
    day, final = first.astimezone(zone).date() - timedelta(days=2), last.astimezone(zone).date() + timedelta(days=2)
    while day <= final:
        chunk_last = min(final, day + timedelta(days=30))
        rows = [{"day": key[0], "instrument_id": key[1], "firm_city": key[2],
                 **{name: value for name, value in zip(rollups.FIELDS, values, strict=True) if name in COLUMNS}}
                for key, values in sorted(rollups.compute(day, chunk_last, session).items())]
        for index in range(0, len(rows), 5000):
            op.get_bind().execute(table.insert(), rows[index:index + 5000])
        day = chunk_last + timedelta(days=1)


def downgrade():
    op.drop_table('stats_daily')
