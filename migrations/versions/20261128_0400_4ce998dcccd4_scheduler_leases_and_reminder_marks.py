"""The scheduler's lease (who runs the jobs) and the mark on reminded bookings.

Revision ID: 4ce998dcccd4
Revises: 825d4ac4561e
Create Date: 2026-11-28 06:00:51.319713

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4ce998dcccd4'
down_revision = '825d4ac4561e'
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('scheduler_leases',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('holder', sa.String(length=200), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_leases'))
    )
    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))




def downgrade():

    with op.batch_alter_table('bookings', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    op.drop_table('scheduler_leases')

