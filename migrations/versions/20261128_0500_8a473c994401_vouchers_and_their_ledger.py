"""Innovation vouchers (创新券), their ledger, and the voucher a booking spends.

Revision ID: 8a473c994401
Revises: 4ce998dcccd4
Create Date: 2026-11-28 06:14:42.127072

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8a473c994401'
down_revision = '4ce998dcccd4'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('vouchers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('issuing_city', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.Column('max_share', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'revoked')", name=op.f('ck_vouchers_status')),
    sa.CheckConstraint('amount > 0', name=op.f('ck_vouchers_amount')),
    sa.CheckConstraint('balance >= 0 AND balance <= amount', name=op.f('ck_vouchers_balance')),
    sa.CheckConstraint('max_share > 0 AND max_share <= 10000', name=op.f('ck_vouchers_max_share')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_vouchers_created_by_id_users')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_vouchers_firm_id_firms')),
    sa.ForeignKeyConstraint(['issuing_city'], ['cities.code'], name=op.f('fk_vouchers_issuing_city_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vouchers'))
    )
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vouchers_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_vouchers_issuing_city'), ['issuing_city'], unique=False)

    op.create_table('voucher_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('voucher_id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('delta', sa.BigInteger(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('grant', 'hold', 'capture', 'release', 'revoke')", name=op.f('ck_voucher_entries_kind')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_voucher_entries_actor_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_voucher_entries_booking_id_bookings')),
    sa.ForeignKeyConstraint(['voucher_id'], ['vouchers.id'], name=op.f('fk_voucher_entries_voucher_id_vouchers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_entries'))
    )
    with op.batch_alter_table('voucher_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_entries_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_entries_voucher_id'), ['voucher_id'], unique=False)

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('voucher_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_bookings_voucher_id'), ['voucher_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_bookings_voucher_id_vouchers'), 'vouchers', ['voucher_id'], ['id'])




def downgrade():

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_bookings_voucher_id_vouchers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_bookings_voucher_id'))
        batch_op.drop_column('voucher_id')

    with op.batch_alter_table('voucher_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_entries_voucher_id'))
        batch_op.drop_index(batch_op.f('ix_voucher_entries_booking_id'))

    op.drop_table('voucher_entries')
    with op.batch_alter_table('vouchers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vouchers_issuing_city'))
        batch_op.drop_index(batch_op.f('ix_vouchers_firm_id'))

    op.drop_table('vouchers')

