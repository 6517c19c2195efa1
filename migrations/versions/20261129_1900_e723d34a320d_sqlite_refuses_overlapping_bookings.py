"""The database refuses overlapping active bookings on SQLite too.

PostgreSQL has had the exclusion constraint `ex_bookings_no_overlap` from
the start. SQLite gets the same guarantee from two triggers that abort an
insert or update leaving two active bookings of one instrument with
overlapping `[start, occupied_until)`; the error message is the constraint's
name, so the code maps both engines' refusals to the same 409. The triggers
probe the `(instrument_id, start)` index from nine days before the row's
start: a booking holds at most eight days (seven of booking, one of buffer),
and a CHECK on both engines now says so for every row, so the bounded probe
can never miss an overlap.

Stored times on SQLite are naive UTC text `YYYY-MM-DD HH:MM:SS.ffffff`
(SQLAlchemy's format, also the bench's), so text comparison is time order.

Revision ID: e723d34a320d
Revises: 3f6b2d9e1a57
Create Date: 2026-11-29 19:00:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e723d34a320d'
down_revision = '3f6b2d9e1a57'
branch_labels = None
depends_on = None

ACTIVE = "('pending', 'confirmed')"

OVERLAP = f"""
    SELECT RAISE(ABORT, 'ex_bookings_no_overlap')
    WHERE EXISTS (
        SELECT 1 FROM bookings AS other
        WHERE other.instrument_id = NEW.instrument_id
          AND other.id IS NOT NEW.id
          AND other.status IN {ACTIVE}
          AND other.start >= datetime(NEW.start, '-9 days')
          AND other.start < NEW.occupied_until
          AND other.occupied_until > NEW.start
    );
"""


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ck_bookings_occupied_span "
            "CHECK (occupied_until - start <= interval '8 days')"
        )
        return
    # SQLite: a CHECK can only come with the table; the triggers are added after it.
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'occupied_span', "julianday(occupied_until) - julianday(start) <= 8"
        )
    op.execute(
        f"CREATE TRIGGER tr_bookings_no_overlap_insert BEFORE INSERT ON bookings "
        f"WHEN NEW.status IN {ACTIVE} BEGIN {OVERLAP} END"
    )
    op.execute(
        f"CREATE TRIGGER tr_bookings_no_overlap_update "
        f"BEFORE UPDATE OF instrument_id, start, occupied_until, status ON bookings "
        f"WHEN NEW.status IN {ACTIVE} BEGIN {OVERLAP} END"
    )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute("ALTER TABLE bookings DROP CONSTRAINT ck_bookings_occupied_span")
        return
    op.execute("DROP TRIGGER tr_bookings_no_overlap_update")
    op.execute("DROP TRIGGER tr_bookings_no_overlap_insert")
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_bookings_occupied_span'), type_='check')
