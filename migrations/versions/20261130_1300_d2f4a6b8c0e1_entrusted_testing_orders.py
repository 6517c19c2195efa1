"""Entrusted testing (委托测试, issue #18): orders with their samples and
history, the files people upload (reports), and `instruments.accepts_orders`
(on by default: a manager turns it off for an instrument that takes none).

Revision ID: d2f4a6b8c0e1
Revises: c8d1e3f5a7b9
Create Date: 2026-11-30 13:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd2f4a6b8c0e1'
down_revision = 'c8d1e3f5a7b9'
branch_labels = None
depends_on = None

STATUSES = "('submitted', 'quoted', 'accepted', 'received', 'reported', 'closed', 'declined', 'withdrawn', 'rejected')"


def upgrade():
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('accepts_orders', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_table(
        'stored_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_stored_files_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_files')),
    )
    op.create_table(
        'orders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=20), nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('requirements', sa.Text(), nullable=False),
        sa.Column('desired_by', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('quote_amount', sa.BigInteger(), nullable=True),
        sa.Column('turnaround_days', sa.Integer(), nullable=True),
        sa.Column('quote_note', sa.Text(), nullable=False),
        sa.Column('quote_valid_until', sa.Date(), nullable=True),
        sa.Column('decline_reason', sa.Text(), nullable=False),
        sa.Column('received_on', sa.Date(), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('report_file_id', sa.Integer(), nullable=True),
        sa.Column('machine_minutes', sa.Integer(), nullable=True),
        sa.Column('rating', sa.Integer(), nullable=True),
        sa.Column('rating_comment', sa.Text(), nullable=False),
        sa.Column('voucher_amount', sa.BigInteger(), nullable=False),
        sa.Column('firm_pays', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN {STATUSES}", name=op.f('ck_orders_status')),
        sa.CheckConstraint('quote_amount IS NULL OR quote_amount > 0', name=op.f('ck_orders_quote_amount')),
        sa.CheckConstraint('turnaround_days IS NULL OR turnaround_days BETWEEN 1 AND 365',
                           name=op.f('ck_orders_turnaround')),
        sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_orders_rating')),
        sa.CheckConstraint('voucher_amount >= 0 AND firm_pays >= 0', name=op.f('ck_orders_money')),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_orders_firm_id_firms')),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_orders_institution_id_institutions')),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_orders_instrument_id_instruments')),
        sa.ForeignKeyConstraint(['report_file_id'], ['stored_files.id'], name=op.f('fk_orders_report_file_id_stored_files')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_orders_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
        sa.UniqueConstraint('number', name=op.f('uq_orders_number')),
    )
    for column in ('instrument_id', 'institution_id', 'firm_id', 'user_id', 'status'):
        op.create_index(op.f(f'ix_orders_{column}'), 'orders', [column])
    op.create_table(
        'order_samples',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('quantity', sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column('unit', sa.String(length=20), nullable=False),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('hazards', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_samples_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_samples')),
    )
    op.create_index(op.f('ix_order_samples_order_id'), 'order_samples', ['order_id'])
    op.create_table(
        'order_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('order_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_order_events_actor_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_events_order_id_orders'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_order_events')),
    )
    op.create_index(op.f('ix_order_events_order_id'), 'order_events', ['order_id'])


def downgrade():
    op.drop_table('order_events')
    op.drop_table('order_samples')
    op.drop_table('orders')
    op.drop_table('stored_files')
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_column('accepts_orders')
