"""Monthly statistics roll-ups (issue #20): `stats_monthly`, the daily
figures summed per instrument and calendar month (all booking cities), and
`stats_flows_monthly`, what the flow matrix needs per month, owning
institution and booking firm's city. A year is then twelve rows an
instrument instead of one a day and city. Filled here from `stats_daily` in
SQL, as `stats.rollups.derive_months` does.

Revision ID: 7a2c4e6f8b10
Revises: 5d7f9b1c3e20
Create Date: 2026-12-01 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7a2c4e6f8b10'
down_revision = '5d7f9b1c3e20'
branch_labels = None
depends_on = None

FIELDS = ("booked_seconds", "used_seconds", "staff_seconds", "bookings", "no_shows", "revenue_cents",
          "voucher_cents", "lost_minutes")
FLOW_FIELDS = ("booked_seconds", "bookings", "revenue_cents")


def _column(name):
    # Money in 64 bits; seconds (a month is 2.7 million), counts and minutes in 32.
    return sa.Column(name, sa.BigInteger() if name.endswith("_cents") else sa.Integer(), nullable=False)


def upgrade():
    op.create_table(
        'stats_monthly',
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        *(_column(name) for name in FIELDS),
        sa.PrimaryKeyConstraint('instrument_id', 'month', name=op.f('pk_stats_monthly')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'stats_flows_monthly',
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('institution_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('firm_city', sa.String(length=20), nullable=False),
        sa.Column('booked_seconds', sa.BigInteger(), nullable=False),  # an institution's month: may pass 2^31
        sa.Column('bookings', sa.Integer(), nullable=False),
        sa.Column('revenue_cents', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('month', 'institution_id', 'firm_city', name=op.f('pk_stats_flows_monthly')),
    )
    if op.get_bind().dialect.name == "postgresql":
        month = "CAST(date_trunc('month', stats_daily.day) AS DATE)"
    else:
        month = "substr(stats_daily.day, 1, 7) || '-01'"

    def sums(names):
        return ", ".join(f"sum(stats_daily.{n})" for n in names)

    def nonzero(names):
        return " OR ".join(f"sum(stats_daily.{n}) <> 0" for n in names)

    op.execute(f"INSERT INTO stats_monthly (instrument_id, month, {', '.join(FIELDS)}) "
               f"SELECT stats_daily.instrument_id, {month}, {sums(FIELDS)} FROM stats_daily "
               f"GROUP BY stats_daily.instrument_id, {month} HAVING {nonzero(FIELDS)}")
    op.execute(f"INSERT INTO stats_flows_monthly (month, institution_id, firm_city, {', '.join(FLOW_FIELDS)}) "
               f"SELECT {month}, instruments.institution_id, stats_daily.firm_city, {sums(FLOW_FIELDS)} "
               "FROM stats_daily JOIN instruments ON stats_daily.instrument_id = instruments.id "
               "WHERE stats_daily.firm_city <> '' "
               f"GROUP BY {month}, instruments.institution_id, stats_daily.firm_city HAVING {nonzero(FLOW_FIELDS)}")


def downgrade():
    op.drop_table('stats_flows_monthly')
    op.drop_table('stats_monthly')
