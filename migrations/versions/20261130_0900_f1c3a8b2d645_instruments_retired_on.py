"""Retired instruments (已停用, issue #16): `retired_on`, the day an
instrument left sharing. It keeps its page and history; it takes no new
booking and no longer appears in search.

Revision ID: f1c3a8b2d645
Revises: e5b7d04a9c12
Create Date: 2026-11-30 09:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f1c3a8b2d645'
down_revision = 'e5b7d04a9c12'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('instruments', sa.Column('retired_on', sa.Date(), nullable=True))


def downgrade():
    op.drop_column('instruments', 'retired_on')
