"""The statistics' versions per day (issue #20): `stats_day_version`, a
random token per day that every transaction changing a booking's figures
on that day replaces; a kept dashboard of whole past days is keyed by the
tokens of the days it reads, so that today's bookings no longer make it
again.

Revision ID: a4c6e8f0b2d5
Revises: f3b5d7e9a1c4
Create Date: 2026-12-01 15:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c6e8f0b2d5'
down_revision = 'f3b5d7e9a1c4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stats_day_version',
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('day', name=op.f('pk_stats_day_version')),
        sqlite_with_rowid=False,
    )


def downgrade():
    op.drop_table('stats_day_version')
