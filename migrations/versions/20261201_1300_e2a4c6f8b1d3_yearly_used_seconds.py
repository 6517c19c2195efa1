"""Used seconds per instrument and calendar year (issue #20):
`stats_yearly_used`, the monthly rows' used seconds summed per year, so
that the quota's "used since 1 January" is a year's row less the months
after the period. Filled from `stats_monthly`, as
`stats.rollups.derive_months` does.

Revision ID: e2a4c6f8b1d3
Revises: d9f1b3c5e7a2
Create Date: 2026-12-01 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e2a4c6f8b1d3'
down_revision = 'd9f1b3c5e7a2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stats_yearly_used',
        sa.Column('year', sa.Date(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('used_seconds', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('year', 'instrument_id', name=op.f('pk_stats_yearly_used')),
        sqlite_with_rowid=False,
    )
    if op.get_bind().dialect.name == "postgresql":
        year = "CAST(date_trunc('year', month) AS DATE)"
    else:
        year = "substr(month, 1, 4) || '-01-01'"
    op.execute(f"INSERT INTO stats_yearly_used (year, instrument_id, used_seconds) "
               f"SELECT {year}, instrument_id, sum(used_seconds) FROM stats_monthly "
               f"GROUP BY {year}, instrument_id HAVING sum(used_seconds) <> 0 ORDER BY 1, 2")


def downgrade():
    op.drop_table('stats_yearly_used')
