"""Settlement claims (兑付申请) for captured voucher money, one line per capture.

Revision ID: 5015a08767d5
Revises: 8a473c994401
Create Date: 2026-11-28 06:18:02.882918

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5015a08767d5'
down_revision = '8a473c994401'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('voucher_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('institution_id', sa.Integer(), nullable=False),
    sa.Column('issuing_city', sa.String(length=20), nullable=False),
    sa.Column('period_from', sa.Date(), nullable=False),
    sa.Column('period_to', sa.Date(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_voucher_claims_created_by_id_users')),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], name=op.f('fk_voucher_claims_institution_id_institutions')),
    sa.ForeignKeyConstraint(['issuing_city'], ['cities.code'], name=op.f('fk_voucher_claims_issuing_city_cities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_claims'))
    )
    with op.batch_alter_table('voucher_claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_claims_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voucher_claims_issuing_city'), ['issuing_city'], unique=False)

    op.create_table('voucher_claim_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'approved', 'rejected')", name=op.f('ck_voucher_claim_lines_status')),
    sa.ForeignKeyConstraint(['claim_id'], ['voucher_claims.id'], name=op.f('fk_voucher_claim_lines_claim_id_voucher_claims')),
    sa.ForeignKeyConstraint(['entry_id'], ['voucher_entries.id'], name=op.f('fk_voucher_claim_lines_entry_id_voucher_entries')),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_voucher_claim_lines_reviewed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voucher_claim_lines')),
    sa.UniqueConstraint('entry_id', name=op.f('uq_voucher_claim_lines_entry_id'))
    )
    with op.batch_alter_table('voucher_claim_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voucher_claim_lines_claim_id'), ['claim_id'], unique=False)




def downgrade():

    with op.batch_alter_table('voucher_claim_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_claim_lines_claim_id'))

    op.drop_table('voucher_claim_lines')
    with op.batch_alter_table('voucher_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voucher_claims_issuing_city'))
        batch_op.drop_index(batch_op.f('ix_voucher_claims_institution_id'))

    op.drop_table('voucher_claims')

