"""A covering index of what a search reads of each instrument (issue #15):
a search of 3,000 matches no longer reads 3,000 records with their long
texts (on SQLite past them into overflow pages).

Revision ID: b3e5f7a9c1d2
Revises: a7d2c9e4b180
Create Date: 2026-11-30 11:00:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b3e5f7a9c1d2'
down_revision = 'a7d2c9e4b180'
branch_labels = None
depends_on = None

COLUMNS = ["id", "retired_on", "status", "institution_id", "category_code", "name", "hourly_rate",
           "accepts_vouchers", "buffer_minutes", "open_on_holidays"]


def upgrade():
    op.create_index('ix_instruments_search', 'instruments', COLUMNS)


def downgrade():
    op.drop_index('ix_instruments_search', table_name='instruments')
