"""Active bookings by instrument and start (issue #15): the free-time search
asks of each of the thousands of instruments its text matched whether an
active booking holds the interval; this index holds only the active
bookings (pending, confirmed) with their occupied end, so each question is
a probe into a small index instead of into the two-million-row history of
`(instrument_id, start)` with a row lookup for every booking in range.
The condition is written out as the queries write it (SQLite uses a
partial index only for a query that repeats its condition).

Revision ID: 9c4e2a7f1b36
Revises: e6a8c0d2f4b7
Create Date: 2026-11-30 16:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '9c4e2a7f1b36'
down_revision = 'e6a8c0d2f4b7'
branch_labels = None
depends_on = None

ACTIVE = sa.text("status IN ('pending', 'confirmed')")


def upgrade():
    # Not in batch mode: on SQLite that would rebuild the table and drop its
    # overlap triggers.
    op.create_index('ix_bookings_active_instrument_id_start', 'bookings',
                    ['instrument_id', 'start', 'occupied_until'],
                    sqlite_where=ACTIVE, postgresql_where=ACTIVE)


def downgrade():
    op.drop_index('ix_bookings_active_instrument_id_start', table_name='bookings')
