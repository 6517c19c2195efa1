"""The search index (issue #15): instrument_terms, an inverted index the
same on both engines, replaces instruments.search_text (one LIKE per row).
Existing instruments are indexed by `flask search reindex` (README, Search).

Revision ID: 7d3c1f5e9a20
Revises: 5a1e0c7b9d42
Create Date: 2026-11-30 02:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7d3c1f5e9a20'
down_revision = '5a1e0c7b9d42'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'instrument_terms',
        sa.Column('term', sa.String(80).with_variant(sa.String(80, collation='C'), 'postgresql'),
                  nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'],
                                name=op.f('fk_instrument_terms_instrument_id_instruments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'instrument_id', name=op.f('pk_instrument_terms')),
    )
    op.create_index(op.f('ix_instrument_terms_instrument_id'), 'instrument_terms', ['instrument_id'])
    # SQLite (3.35 and later) drops the column in place; no batch rebuild.
    op.drop_column('instruments', 'search_text')


def downgrade():
    op.add_column('instruments', sa.Column('search_text', sa.Text(), nullable=False, server_default=''))
    op.drop_index(op.f('ix_instrument_terms_instrument_id'), table_name='instrument_terms')
    op.drop_table('instrument_terms')
