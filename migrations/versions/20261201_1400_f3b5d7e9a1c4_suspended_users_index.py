"""The suspended users by e-mail (issue #19): a partial index of the few
users suspended after no-shows, in the order the manager's desk lists
them; the desk read every user of the corridor to find them.

Revision ID: f3b5d7e9a1c4
Revises: e2a4c6f8b1d3
Create Date: 2026-12-01 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3b5d7e9a1c4'
down_revision = 'e2a4c6f8b1d3'
branch_labels = None
depends_on = None

SUSPENDED = "booking_suspended_at IS NOT NULL"


def upgrade():
    op.create_index('ix_users_suspended_email', 'users', ['email'], unique=False,
                    sqlite_where=sa.text(SUSPENDED), postgresql_where=sa.text(SUSPENDED))


def downgrade():
    op.drop_index('ix_users_suspended_email', table_name='users')
