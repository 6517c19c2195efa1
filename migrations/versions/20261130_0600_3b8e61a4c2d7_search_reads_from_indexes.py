"""Search reads from indexes alone (issue #15): on SQLite instrument_terms
becomes a WITHOUT ROWID table, stored in (term, instrument_id) order with
its weight; on PostgreSQL the primary key's index carries the weight
(INCLUDE), so that a term is an index-only scan. Opening hours get an index
on (instrument_id, weekday, open_minute, close_minute), which answers the
free-time search's "open then?" alone and replaces the one on instrument_id.

Revision ID: 3b8e61a4c2d7
Revises: 7d3c1f5e9a20
Create Date: 2026-11-30 06:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '3b8e61a4c2d7'
down_revision = '7d3c1f5e9a20'
branch_labels = None
depends_on = None


def _rebuild_on_sqlite(with_rowid: bool):
    """SQLite cannot change a table's storage in place: copy it into a new one."""
    op.create_table(
        'instrument_terms_new',
        sa.Column('term', sa.String(80), nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('weight', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'],
                                name=op.f('fk_instrument_terms_instrument_id_instruments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('term', 'instrument_id', name=op.f('pk_instrument_terms')),
        sqlite_with_rowid=with_rowid,
    )
    op.execute('INSERT INTO instrument_terms_new (term, instrument_id, weight) '
               'SELECT term, instrument_id, weight FROM instrument_terms')
    op.drop_index(op.f('ix_instrument_terms_instrument_id'), table_name='instrument_terms')
    op.drop_table('instrument_terms')
    op.rename_table('instrument_terms_new', 'instrument_terms')
    op.create_index(op.f('ix_instrument_terms_instrument_id'), 'instrument_terms', ['instrument_id'])


def _primary_key_on_postgresql(include: str):
    op.execute('ALTER TABLE instrument_terms DROP CONSTRAINT pk_instrument_terms')
    op.execute(f'ALTER TABLE instrument_terms ADD CONSTRAINT pk_instrument_terms PRIMARY KEY (term, instrument_id)'
               f'{include}')


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_on_sqlite(with_rowid=False)
    else:
        _primary_key_on_postgresql(' INCLUDE (weight)')
    op.create_index('ix_opening_hours_instrument_id_weekday', 'opening_hours',
                    ['instrument_id', 'weekday', 'open_minute', 'close_minute'])
    op.drop_index('ix_opening_hours_instrument_id', table_name='opening_hours')


def downgrade():
    op.create_index('ix_opening_hours_instrument_id', 'opening_hours', ['instrument_id'])
    op.drop_index('ix_opening_hours_instrument_id_weekday', table_name='opening_hours')
    if op.get_bind().dialect.name == 'sqlite':
        _rebuild_on_sqlite(with_rowid=True)
    else:
        _primary_key_on_postgresql('')
