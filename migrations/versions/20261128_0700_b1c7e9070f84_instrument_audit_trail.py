"""Instrument audit trail: who created or changed an instrument, its hours and blackouts, and what changed.

Existing instruments get no back-filled rows: their trail starts with the
first change after this revision.

Revision ID: b1c7e9070f84
Revises: 5015a08767d5
Create Date: 2026-11-28 07:21:43.307972

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b1c7e9070f84'
down_revision = '5015a08767d5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('instrument_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("action IN ('created', 'changed', 'status_changed', 'opening_hours_changed', 'blackout_added', 'blackout_removed')", name=op.f('ck_instrument_events_action')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_instrument_events_actor_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_events_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_events'))
    )
    with op.batch_alter_table('instrument_events', schema=None) as batch_op:
        batch_op.create_index('ix_instrument_events_instrument_id_id', ['instrument_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('instrument_events', schema=None) as batch_op:
        batch_op.drop_index('ix_instrument_events_instrument_id_id')

    op.drop_table('instrument_events')
