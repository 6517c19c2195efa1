"""Qualifications and asset numbers (issue #16): instruments get their
资产编号 (`asset_no`, unique within the institution when given: the key of
bulk import), `self_service` (firm users need a qualification to book
them) and `next_training_on`; `qualifications` holds who may run which
self-service instrument and until when; the instrument's trail records
qualifications granted and revoked, and photos added and removed (the
photos' table comes with the next revision).

Revision ID: c4a9e2f81b36
Revises: 3b8e61a4c2d7
Create Date: 2026-11-30 07:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c4a9e2f81b36'
down_revision = '3b8e61a4c2d7'
branch_labels = None
depends_on = None

ACTIONS = ('created', 'changed', 'status_changed', 'opening_hours_changed', 'blackout_added', 'blackout_removed')
WITH_QUALIFICATIONS = (*ACTIONS, 'qualification_granted', 'qualification_revoked', 'photo_added', 'photo_removed')


def _event_actions(actions: tuple[str, ...]):
    """The trail's CHECK on its actions. SQLite cannot alter a CHECK: the
    table is copied into one with the new constraint."""
    check = f"action IN {actions!r}"
    if op.get_bind().dialect.name != 'sqlite':
        op.execute('ALTER TABLE instrument_events DROP CONSTRAINT ck_instrument_events_action')
        op.execute(f'ALTER TABLE instrument_events ADD CONSTRAINT ck_instrument_events_action CHECK ({check})')
        return
    op.create_table(
        'instrument_events_new',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(check, name=op.f('ck_instrument_events_action')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_instrument_events_actor_id_users')),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'],
                                name=op.f('fk_instrument_events_instrument_id_instruments'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_events')),
    )
    op.execute('INSERT INTO instrument_events_new (id, instrument_id, actor_id, action, changes, at) '
               'SELECT id, instrument_id, actor_id, action, changes, at FROM instrument_events')
    op.drop_index('ix_instrument_events_instrument_id_id', table_name='instrument_events')
    op.drop_table('instrument_events')
    op.rename_table('instrument_events_new', 'instrument_events')
    op.create_index('ix_instrument_events_instrument_id_id', 'instrument_events', ['instrument_id', 'id'])


def upgrade():
    # Added and dropped in place on both engines (SQLite 3.35 and later), no table rebuild.
    op.add_column('instruments', sa.Column('asset_no', sa.String(length=60), server_default='', nullable=False))
    op.add_column('instruments', sa.Column('self_service', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column('instruments', sa.Column('next_training_on', sa.Date(), nullable=True))
    op.create_index('ux_instruments_institution_id_asset_no', 'instruments', ['institution_id', 'asset_no'],
                    unique=True, sqlite_where=sa.text("asset_no <> ''"), postgresql_where=sa.text("asset_no <> ''"))
    op.create_table(
        'qualifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instrument_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('granted_on', sa.Date(), nullable=False),
        sa.Column('expires_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_qualifications_granted_by_id_users'),
                                ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'],
                                name=op.f('fk_qualifications_instrument_id_instruments'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_qualifications_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications')),
        sa.UniqueConstraint('instrument_id', 'user_id', name=op.f('uq_qualifications_instrument_id')),
    )
    op.create_index(op.f('ix_qualifications_user_id'), 'qualifications', ['user_id'])
    _event_actions(WITH_QUALIFICATIONS)


def downgrade():
    op.execute("DELETE FROM instrument_events WHERE action IN "
               "('qualification_granted', 'qualification_revoked', 'photo_added', 'photo_removed')")
    _event_actions(ACTIONS)
    op.drop_index(op.f('ix_qualifications_user_id'), table_name='qualifications')
    op.drop_table('qualifications')
    op.drop_index('ux_instruments_institution_id_asset_no', table_name='instruments')
    op.drop_column('instruments', 'next_training_on')
    op.drop_column('instruments', 'self_service')
    op.drop_column('instruments', 'asset_no')
