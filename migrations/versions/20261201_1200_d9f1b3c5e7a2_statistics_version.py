"""The statistics' version (issue #20): `stats_version`, one row holding a
random token that every transaction changing what a statistic of whole
past days shows replaces; a dashboard of such days is computed once per
token and process.

Revision ID: d9f1b3c5e7a2
Revises: c7e1a3f5b9d2
Create Date: 2026-12-01 12:00:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd9f1b3c5e7a2'
down_revision = 'c7e1a3f5b9d2'
branch_labels = None
depends_on = None


def upgrade():
    version = op.create_table(
        'stats_version',
        sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_version')),
    )
    op.bulk_insert(version, [{"id": 1, "token": secrets.token_hex(16)}])


def downgrade():
    op.drop_table('stats_version')
