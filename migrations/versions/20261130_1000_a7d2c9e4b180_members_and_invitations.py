"""Members of firms and institutions (issues #16, #17): `users.org_admin`,
the administrator of the user's firm or institution, who deactivated a
member and when (`deactivated_at`, `deactivated_by_id`), and `invitations`,
mailed links to join one. The first active user of every firm and the
first active manager of every institution become its administrator.

Revision ID: a7d2c9e4b180
Revises: f1c3a8b2d645
Create Date: 2026-11-30 10:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a7d2c9e4b180'
down_revision = 'f1c3a8b2d645'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('org_admin', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('deactivated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('deactivated_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_users_deactivated_by_id_users'), 'users', ['deactivated_by_id'],
                                    ['id'])
        batch_op.create_check_constraint('org_admin_has_org', "NOT org_admin OR role IN ('firm', 'manager')")
    # The earliest active member: an organisation whose first member has
    # left gets one who can still sign in.
    op.execute(
        "UPDATE users SET org_admin = true WHERE id IN "
        "(SELECT min(id) FROM users WHERE role = 'firm' AND active GROUP BY firm_id) OR id IN "
        "(SELECT min(id) FROM users WHERE role = 'manager' AND active GROUP BY institution_id)"
    )
    op.create_table(
        'invitations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=True),
        sa.Column('institution_id', sa.Integer(), nullable=True),
        sa.Column('invited_by_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("role IN ('firm', 'manager')", name=op.f('ck_invitations_role')),
        sa.CheckConstraint(
            "(role = 'firm' AND firm_id IS NOT NULL AND institution_id IS NULL) OR "
            "(role = 'manager' AND institution_id IS NOT NULL AND firm_id IS NULL)",
            name=op.f('ck_invitations_one_organisation')),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_invitations_firm_id_firms')),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'],
                                name=op.f('fk_invitations_institution_id_institutions')),
        sa.ForeignKeyConstraint(['invited_by_id'], ['users.id'], name=op.f('fk_invitations_invited_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash')),
    )
    op.create_index(op.f('ix_invitations_email'), 'invitations', ['email'])
    op.create_index(op.f('ix_invitations_firm_id'), 'invitations', ['firm_id'])
    op.create_index(op.f('ix_invitations_institution_id'), 'invitations', ['institution_id'])


def downgrade():
    op.drop_table('invitations')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('org_admin_has_org', type_='check')
        batch_op.drop_constraint(batch_op.f('fk_users_deactivated_by_id_users'), type_='foreignkey')
        batch_op.drop_column('deactivated_by_id')
        batch_op.drop_column('deactivated_at')
        batch_op.drop_column('org_admin')
