"""Vouchers pay for entrusted testing (issue #18): an order names the
voucher the firm chose, and a ledger movement serves a booking or an order
(never both).

Revision ID: e6a8c0d2f4b7
Revises: d2f4a6b8c0e1
Create Date: 2026-11-30 14:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e6a8c0d2f4b7'
down_revision = 'd2f4a6b8c0e1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_orders_voucher_id_vouchers'), 'vouchers', ['voucher_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_orders_voucher_id'), ['voucher_id'])
        batch_op.create_check_constraint('voucher_part', 'voucher_amount = 0 OR voucher_id IS NOT NULL')
    with op.batch_alter_table('voucher_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_voucher_entries_order_id_orders'), 'orders', ['order_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_voucher_entries_order_id'), ['order_id'])
        batch_op.create_check_constraint('one_service', 'booking_id IS NULL OR order_id IS NULL')


def downgrade():
    with op.batch_alter_table('voucher_entries', schema=None) as batch_op:
        batch_op.drop_constraint('one_service', type_='check')
        batch_op.drop_index(batch_op.f('ix_voucher_entries_order_id'))
        batch_op.drop_constraint(batch_op.f('fk_voucher_entries_order_id_orders'), type_='foreignkey')
        batch_op.drop_column('order_id')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_constraint('voucher_part', type_='check')
        batch_op.drop_index(batch_op.f('ix_orders_voucher_id'))
        batch_op.drop_constraint(batch_op.f('fk_orders_voucher_id_vouchers'), type_='foreignkey')
        batch_op.drop_column('voucher_id')
