"""Booking mails are composed by the delivery run: the outbox keeps what to
compose them from, and `raw` stays empty until then.

Revision ID: 3f6b2d9e1a57
Revises: b1c7e9070f84
Create Date: 2026-11-28 07:45:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f6b2d9e1a57'
down_revision = 'b1c7e9070f84'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('compose_from', sa.JSON(), nullable=True))
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=True)


def downgrade():
    # Messages still waiting to be composed cannot be kept without their bytes.
    op.execute("DELETE FROM outbox_messages WHERE raw IS NULL")
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('raw', existing_type=sa.Text(), nullable=False)
        batch_op.drop_column('compose_from')
