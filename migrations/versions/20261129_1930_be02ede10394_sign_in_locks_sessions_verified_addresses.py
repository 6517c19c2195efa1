"""Accounts that defend themselves: failed sign-ins counted per account with
a time lock, a session generation that ends every session of a user, and a
verified address (self-registered firms confirm theirs by mail).

Every user that exists already was made by the joint office or registered
before confirmation existed: all are marked verified (at their creation).

Revision ID: be02ede10394
Revises: e723d34a320d
Create Date: 2026-11-29 19:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'be02ede10394'
down_revision = 'e723d34a320d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('login_locked_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))
    op.execute("UPDATE users SET email_verified_at = created_at")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_generation')
        batch_op.drop_column('login_locked_until')
        batch_op.drop_column('failed_logins')
        batch_op.drop_column('email_verified_at')
