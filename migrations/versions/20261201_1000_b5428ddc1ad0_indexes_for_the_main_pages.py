"""Indexes for the pages of issue #19 (30 ms a page at the demo's size).
The "my bookings" page reads a firm's bookings through `(firm_id, start,
id)` in the page's order as far as it shows (the id for PostgreSQL, whose
indexes hold no row id), instead of every booking of the firm (thousands)
read and sorted for twenty, and asks `(user_id, start, firm_id)` whether
the booker booked for no firm or another (those are shown too). The
settlement list on the vouchers page reads a city's vouchers' captures,
with their booking and amount, from `(voucher_id, kind, booking_id,
amount)` without reading the ledger's rows. Each replaces the index it
begins with: `(firm_id)`, `(user_id, start)`, `(voucher_id)`.

Revision ID: b5428ddc1ad0
Revises: 7a2c4e6f8b10
Create Date: 2026-12-01 10:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b5428ddc1ad0'
down_revision = '7a2c4e6f8b10'
branch_labels = None
depends_on = None


def upgrade():
    # Not in batch mode: on SQLite that would rebuild the table and drop its
    # overlap triggers.
    op.create_index('ix_bookings_firm_id_start', 'bookings', ['firm_id', 'start', 'id'], unique=False)
    op.drop_index('ix_bookings_firm_id', table_name='bookings')
    op.create_index('ix_bookings_user_id_start_firm_id', 'bookings', ['user_id', 'start', 'firm_id'], unique=False)
    op.drop_index('ix_bookings_user_id_start', table_name='bookings')
    op.create_index('ix_voucher_entries_voucher_id_kind', 'voucher_entries',
                    ['voucher_id', 'kind', 'booking_id', 'amount'], unique=False)
    op.drop_index('ix_voucher_entries_voucher_id', table_name='voucher_entries')


def downgrade():
    op.create_index('ix_voucher_entries_voucher_id', 'voucher_entries', ['voucher_id'], unique=False)
    op.drop_index('ix_voucher_entries_voucher_id_kind', table_name='voucher_entries')
    op.create_index('ix_bookings_user_id_start', 'bookings', ['user_id', 'start'], unique=False)
    op.drop_index('ix_bookings_user_id_start_firm_id', table_name='bookings')
    op.create_index('ix_bookings_firm_id', 'bookings', ['firm_id'], unique=False)
    op.drop_index('ix_bookings_firm_id_start', table_name='bookings')
