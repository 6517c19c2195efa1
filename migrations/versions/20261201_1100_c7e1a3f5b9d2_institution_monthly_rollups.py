"""The dashboard's trend and a month of every instrument from indexes (issue
#20): `stats_institution_monthly` replaces `stats_flows_monthly`. Per month,
owning institution and booker's firm city ('' for a booker without a
firm), it holds every booking figure, not only the flows' three: the
corridor's twelve-month trend then sums about 6,000 rows (500 institutions)
instead of 240,000 instrument-months (SQLite 108 → 15 ms at 20,000
instruments), and the flow matrix reads its rows with a city. `stats_monthly`
gets two indexes: in (month, instrument) order with every figure, so that a
month of every instrument is a range of the index instead of a scan of all
months (48 → 16 ms), and the months with blackout minutes alone (partial),
which the trend adds to the institutions' figures. `stats_open_minutes`
holds each instrument's open minutes per weekday (its weekly hours
summed): a period's opening minutes are one row an instrument instead of
its hours summed at each read (45 → 10 ms). Filled in SQL from
`stats_daily` and `opening_hours`, as `stats.rollups` does.

Revision ID: c7e1a3f5b9d2
Revises: b5428ddc1ad0
Create Date: 2026-12-01 11:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7e1a3f5b9d2'
down_revision = 'b5428ddc1ad0'
branch_labels = None
depends_on = None

BOOKING_FIELDS = ("booked_seconds", "used_seconds", "staff_seconds", "bookings", "no_shows", "revenue_cents",
                  "voucher_cents")
FIELDS = BOOKING_FIELDS + ("lost_minutes",)
FLOW_FIELDS = ("booked_seconds", "bookings", "revenue_cents")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _month():
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(date_trunc('month', stats_daily.day) AS DATE)"
    return "substr(stats_daily.day, 1, 7) || '-01'"


def _sums(names):
    return ", ".join(f"sum(stats_daily.{n})" for n in names)


def _nonzero(names):
    return " OR ".join(f"sum(stats_daily.{n}) <> 0" for n in names)


def upgrade():
    op.create_table(
        'stats_institution_monthly',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('institution_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('firm_city', sa.String(length=20), nullable=False),
        # An institution's month may pass 2^31 seconds; counts stay within 32 bits.
        *(sa.Column(name, sa.Integer() if name in ("bookings", "no_shows") else sa.BigInteger(), nullable=False)
          for name in BOOKING_FIELDS),
        sa.PrimaryKeyConstraint('month', 'institution_id', 'firm_city', name=op.f('pk_stats_institution_monthly')),
        sqlite_with_rowid=False,
    )
    month = _month()
    op.execute(f"INSERT INTO stats_institution_monthly (month, institution_id, firm_city, {', '.join(BOOKING_FIELDS)}) "
               f"SELECT {month}, instruments.institution_id, stats_daily.firm_city, {_sums(BOOKING_FIELDS)} "
               "FROM stats_daily JOIN instruments ON stats_daily.instrument_id = instruments.id "
               f"GROUP BY {month}, instruments.institution_id, stats_daily.firm_city "
               f"HAVING {_nonzero(BOOKING_FIELDS)} ORDER BY 1, 2, 3")
    op.drop_table('stats_flows_monthly')
    op.create_index('ix_stats_monthly_month_figures', 'stats_monthly', ['month', 'instrument_id', *FIELDS],
                    unique=False)
    op.create_index('ix_stats_monthly_lost', 'stats_monthly', ['month', 'instrument_id', 'lost_minutes'],
                    unique=False, sqlite_where=sa.text('lost_minutes <> 0'),
                    postgresql_where=sa.text('lost_minutes <> 0'))
    op.create_table(
        'stats_open_minutes',
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in WEEKDAYS),
        sa.PrimaryKeyConstraint('instrument_id', name=op.f('pk_stats_open_minutes')),
    )
    minutes = ", ".join(f"coalesce(sum(CASE WHEN opening_hours.weekday = {n} THEN opening_hours.close_minute "
                        "- opening_hours.open_minute END), 0)" for n in range(7))
    op.execute(f"INSERT INTO stats_open_minutes (instrument_id, {', '.join(WEEKDAYS)}) "
               f"SELECT instruments.id, {minutes} FROM instruments "
               "LEFT OUTER JOIN opening_hours ON opening_hours.instrument_id = instruments.id GROUP BY instruments.id")


def downgrade():
    op.drop_table('stats_open_minutes')
    op.drop_index('ix_stats_monthly_lost', table_name='stats_monthly')
    op.drop_index('ix_stats_monthly_month_figures', table_name='stats_monthly')
    op.create_table(
        'stats_flows_monthly',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('institution_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('firm_city', sa.String(length=20), nullable=False),
        sa.Column('booked_seconds', sa.BigInteger(), nullable=False),
        sa.Column('bookings', sa.Integer(), nullable=False),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'institution_id', 'firm_city', name=op.f('pk_stats_flows_monthly')),
    )
    op.execute(f"INSERT INTO stats_flows_monthly (month, institution_id, firm_city, {', '.join(FLOW_FIELDS)}) "
               f"SELECT month, institution_id, firm_city, {', '.join(f'sum({n})' for n in FLOW_FIELDS)} "
               "FROM stats_institution_monthly WHERE firm_city <> '' GROUP BY month, institution_id, firm_city "
               f"HAVING {' OR '.join(f'sum({n}) <> 0' for n in FLOW_FIELDS)}")
    op.drop_table('stats_institution_monthly')
