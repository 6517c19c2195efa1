"""`flask db upgrade` from empty gives exactly the schema the models declare."""
from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from instrument_share.extensions import db


def test_migrated_schema_matches_models(app_context):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_reference_data_is_loaded(app_context):
    codes = db.session.scalars(sa.text("SELECT code FROM cities ORDER BY sort_order")).all()
    assert codes == [
        "songjiang", "jiaxing", "hangzhou", "jinhua", "suzhou",
        "huzhou", "xuancheng", "wuhu", "hefei",
    ]
    majors = db.session.scalar(sa.text("SELECT count(*) FROM categories WHERE parent_code IS NULL"))
    subclasses = db.session.scalar(
        sa.text("SELECT count(*) FROM categories WHERE parent_code = 'analytical'")
    )
    assert (majors, subclasses) == (15, 12)
