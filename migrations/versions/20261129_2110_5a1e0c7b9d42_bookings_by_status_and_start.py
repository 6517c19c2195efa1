"""Bookings by status and start: the close-bookings and reminder jobs find
no-shows, finished and lapsed bookings through it instead of scanning the
whole history inside SQLite's write lock (1.4 s at two million bookings).

Revision ID: 5a1e0c7b9d42
Revises: be02ede10394
Create Date: 2026-11-29 21:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5a1e0c7b9d42'
down_revision = 'be02ede10394'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: on SQLite that would rebuild the table and drop its
    # overlap triggers.
    op.create_index('ix_bookings_status_start', 'bookings', ['status', 'start'], unique=False)


def downgrade():
    op.drop_index('ix_bookings_status_start', table_name='bookings')
