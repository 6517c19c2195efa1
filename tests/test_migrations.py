"""`flask db upgrade` from empty gives exactly the schema the models declare."""
from __future__ import annotations

from contextlib import contextmanager

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


def _chain() -> list[str]:
    """Revision ids from the first to the head, following down_revision."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from instrument_share import ROOT

    config = Config(str(ROOT / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]


def test_migration_files_sort_in_chain_order():
    """Named `YYYYMMDD_HHMM_<rev>_<slug>.py`: a listing is the history."""
    from instrument_share import ROOT

    files = sorted(path.name for path in (ROOT / "migrations" / "versions").glob("*.py"))
    assert [name.split("_")[2] for name in files] == _chain()
    assert all(len(name.split("_")[1]) == 4 and name.split("_")[1].isdigit() for name in files)


@contextmanager
def fresh_database(database_url: str, tmp_path, name: str):
    """The URL of an empty database of the engine under test, dropped after
    (PostgreSQL: a database of its own beside the test's; SQLite: a file)."""
    if not database_url.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        return
    url = sa.engine.make_url(database_url)
    fresh = url.set(database=f"{url.database}_{name}")
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh.database}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{fresh.database}"'))
    try:
        yield fresh.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{fresh.database}"'))
        admin.dispose()


def test_upgrade_downgrade_upgrade_on_a_fresh_database(database_url, make_app, tmp_path):
    """Every revision's downgrade undoes its upgrade, on the engine under
    test: a fresh database goes to the head, down to nothing, and up again,
    ending with the schema the models declare."""
    from flask_migrate import downgrade, upgrade

    with fresh_database(database_url, tmp_path, "migrations") as target:
        app = make_app(SQLALCHEMY_DATABASE_URI=target)
        with app.app_context():
            upgrade()
            downgrade(revision="base")
            tables = sa.inspect(db.engine).get_table_names()
            assert set(tables) <= {"alembic_version"}, tables
            upgrade()
            with db.engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"compare_type": True})
                assert compare_metadata(context, db.metadata) == []
            db.engine.dispose()
