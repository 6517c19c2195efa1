"""Bookings, their history, blackouts and series; booking suspension on users.

On PostgreSQL an exclusion constraint makes overlapping active bookings of
one instrument impossible, whatever the application does: the last guard
behind the service's own check (DESIGN.md, "Data").

Revision ID: 2c93bdd0b6fe
Revises: f05efe528cc2
Create Date: 2026-11-28 05:06:11.419153

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2c93bdd0b6fe'
down_revision = 'f05efe528cc2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('booking_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rrule', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_series'))
    )
    op.create_table('blackouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('"end" > start', name=op.f('ck_blackouts_positive_length')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_blackouts_created_by_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_blackouts_instrument_id_instruments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blackouts'))
    )
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.create_index('ix_blackouts_instrument_id_end', ['instrument_id', 'end'], unique=False)

    op.create_table('bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('occupied_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('voucher_amount', sa.BigInteger(), nullable=False),
    sa.Column('firm_pays', sa.BigInteger(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('decision_reason', sa.Text(), nullable=False),
    sa.Column('checked_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('service_mode', sa.String(length=16), nullable=True),
    sa.Column('used_start', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_end', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("service_mode IS NULL OR service_mode IN ('self_operated', 'guided', 'commissioned', 'remote')", name=op.f('ck_bookings_service_mode')),
    sa.CheckConstraint("status IN ('pending', 'confirmed', 'rejected', 'cancelled', 'completed', 'no_show')", name=op.f('ck_bookings_status')),
    sa.CheckConstraint('"end" > start', name=op.f('ck_bookings_positive_length')),
    sa.CheckConstraint('cost >= 0 AND voucher_amount >= 0 AND firm_pays >= 0', name=op.f('ck_bookings_money')),
    sa.CheckConstraint('occupied_until >= "end"', name=op.f('ck_bookings_occupied_after_end')),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_bookings_rating')),
    sa.CheckConstraint('used_end IS NULL OR used_end > used_start', name=op.f('ck_bookings_usage')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_bookings_firm_id_firms')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_bookings_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['series_id'], ['booking_series.id'], name=op.f('fk_bookings_series_id_booking_series')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bookings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bookings'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bookings_firm_id'), ['firm_id'], unique=False)
        batch_op.create_index('ix_bookings_instrument_id_start', ['instrument_id', 'start'], unique=False)
        batch_op.create_index(batch_op.f('ix_bookings_series_id'), ['series_id'], unique=False)
        batch_op.create_index('ix_bookings_user_id_start', ['user_id', 'start'], unique=False)

    op.create_table('booking_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_booking_events_actor_id_users')),
    sa.ForeignKeyConstraint(['booking_id'], ['bookings.id'], name=op.f('fk_booking_events_booking_id_bookings'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_events'))
    )
    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_booking_events_booking_id'), ['booking_id'], unique=False)

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('booking_suspended_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('violations_cleared_at', sa.DateTime(timezone=True), nullable=True))

    # The conflict checker looks back 8 days from a request (MAX_OCCUPIED_SPAN).
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.create_check_constraint('max_booking_week', 'max_booking_minutes <= 10080')
        batch_op.create_check_constraint('buffer_day', 'buffer_minutes <= 1440')

    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE EXTENSION IF NOT EXISTS btree_gist')
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap "
            "EXCLUDE USING gist (instrument_id WITH =, tstzrange(start, occupied_until, '[)') WITH &&) "
            "WHERE (status IN ('pending', 'confirmed'))"
        )


def downgrade():
    with op.batch_alter_table('instruments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_instruments_buffer_day'), type_='check')
        batch_op.drop_constraint(op.f('ck_instruments_max_booking_week'), type_='check')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('violations_cleared_at')
        batch_op.drop_column('booking_suspended_at')

    with op.batch_alter_table('booking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_booking_events_booking_id'))

    op.drop_table('booking_events')
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_index('ix_bookings_user_id_start')
        batch_op.drop_index(batch_op.f('ix_bookings_series_id'))
        batch_op.drop_index('ix_bookings_instrument_id_start')
        batch_op.drop_index(batch_op.f('ix_bookings_firm_id'))

    op.drop_table('bookings')
    with op.batch_alter_table('blackouts', schema=None) as batch_op:
        batch_op.drop_index('ix_blackouts_instrument_id_end')

    op.drop_table('blackouts')
    op.drop_table('booking_series')
