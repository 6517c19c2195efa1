"""Dashboards made by the scheduler (issue #20): `stats_page`, the figures of
the corridor's and each city's default dashboard of whole past days, made
after a change by the `statistics-pages` job and shared by every web worker
(stats/pages.py), so that no reader waits for them to be made.

Revision ID: c7e9a1b3d5f6
Revises: b6d8f0a2c4e7
Create Date: 2026-12-01 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c7e9a1b3d5f6'
down_revision = 'b6d8f0a2c4e7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'stats_page',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('tokens', sa.String(length=64), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_stats_page')),
    )


def downgrade():
    op.drop_table('stats_page')
