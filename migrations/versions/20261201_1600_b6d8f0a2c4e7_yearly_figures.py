"""Every figure per instrument and calendar year (issue #20): `stats_yearly`
replaces `stats_yearly_used` (used seconds alone), so that a period of more
than half a year is read as its year's rows less the months and days
outside it. Filled from `stats_monthly`, as `stats.rollups.derive_months`
does.

Revision ID: b6d8f0a2c4e7
Revises: a4c6e8f0b2d5
Create Date: 2026-12-01 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b6d8f0a2c4e7'
down_revision = 'a4c6e8f0b2d5'
branch_labels = None
depends_on = None

FIELDS = ("booked_seconds", "used_seconds", "staff_seconds", "bookings", "no_shows", "revenue_cents",
          "voucher_cents", "lost_minutes")


def _year() -> str:
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(date_trunc('year', month) AS DATE)"
    return "substr(month, 1, 4) || '-01-01'"


def upgrade():
    op.create_table(
        'stats_yearly',
        sa.Column('year', sa.Date(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        *(sa.Column(name, sa.BigInteger() if name.endswith("_cents") else sa.Integer(), nullable=False)
          for name in FIELDS),
        sa.PrimaryKeyConstraint('year', 'instrument_id', name=op.f('pk_stats_yearly')),
        sqlite_with_rowid=False,
    )
    year = _year()
    op.execute(f"INSERT INTO stats_yearly (year, instrument_id, {', '.join(FIELDS)}) "
               f"SELECT {year}, instrument_id, {', '.join(f'sum({n})' for n in FIELDS)} FROM stats_monthly "
               f"GROUP BY {year}, instrument_id HAVING {' OR '.join(f'sum({n}) <> 0' for n in FIELDS)} ORDER BY 1, 2")
    op.drop_table('stats_yearly_used')


def downgrade():
    op.create_table(
        'stats_yearly_used',
        sa.Column('year', sa.Date(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('used_seconds', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('year', 'instrument_id', name=op.f('pk_stats_yearly_used')),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO stats_yearly_used (year, instrument_id, used_seconds) "
               "SELECT year, instrument_id, used_seconds FROM stats_yearly WHERE used_seconds <> 0 ORDER BY 1, 2")
    op.drop_table('stats_yearly')
