"""Instrument photos (issue #16): up to six per instrument, re-encoded to a
display size and a thumbnail and kept in the database, so that every web
host serves them.

Revision ID: e5b7d04a9c12
Revises: c4a9e2f81b36
Create Date: 2026-11-30 08:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'e5b7d04a9c12'
down_revision = 'c4a9e2f81b36'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instrument_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('display', sa.LargeBinary(), nullable=False),
        sa.Column('thumbnail', sa.LargeBinary(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_instrument_photos_created_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'],
                                name=op.f('fk_instrument_photos_instrument_id_instruments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_photos')),
    )
    op.create_index(op.f('ix_instrument_photos_instrument_id'), 'instrument_photos', ['instrument_id'])


def downgrade():
    op.drop_index(op.f('ix_instrument_photos_instrument_id'), table_name='instrument_photos')
    op.drop_table('instrument_photos')
