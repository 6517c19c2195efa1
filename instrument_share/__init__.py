"""instrument-share: the G60 corridor's shared large-instrument platform."""
from __future__ import annotations

import gc
from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent
# The templates, static files and migrations: beside the package in a
# checkout, inside it when installed from a wheel (setup.py copies them).
SITE = Path(__file__).resolve().parent if (Path(__file__).resolve().parent / "templates").is_dir() else ROOT


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application: defaults and environment, then the test override."""
    from .transaction import InstrumentShareApp

    test_config = dict(test_config or {})
    app = InstrumentShareApp(
        __name__,
        # A checkout keeps instance/ beside the package; an installed package
        # gets Flask's own (<prefix>/var/instrument_share-instance), never a
        # folder inside site-packages.
        instance_path=test_config.pop("INSTANCE_PATH", None) or (str(ROOT / "instance") if SITE == ROOT else None),
        template_folder=str(SITE / "templates"),
        static_folder=str(SITE / "static"),
    )
    from .config import load_settings

    app.config.from_mapping(load_settings(Path(app.instance_path), test_config))

    from . import docs_site, icons, site, web
    from .extensions import babel, bootstrap, compress, csrf, db, limiter, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(SITE / "migrations"), render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    app.before_request(web.apply_upload_limit)  # before CSRF's hook reads the body
    csrf.init_app(app)
    bootstrap.init_app(app)
    compress.init_app(app)
    app.after_request(web.read_static_whole)  # runs before the compression: hooks run last-registered first
    limiter.init_app(app)
    babel.init_app(
        app,
        locale_selector=web.select_locale,
        timezone_selector=lambda: app.config["PLATFORM_TIMEZONE"],
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    from .database import configure_engine_events

    with app.app_context():
        configure_engine_events(db.engine)
    from .booking import calendar

    calendar.warm()

    site.init_app(app)

    from .accounts import api as accounts_api
    from .accounts import member_views
    from .accounts import views as account_views
    from .admin import views as admin_views
    from .api import init_api
    from .booking import api as booking_api
    from .booking import events as booking_events
    from .booking import views as booking_views
    from .booking.payment import PAYMENT
    from .catalogue import api as catalogue_api
    from .desk import api as desk_api
    from .desk import views as desk_views
    from .invites import views as feed_views
    from .invites.notify import bookings_changed, compose_booking_mail
    from .mail.delivery import COMPOSER
    from .orders import api as orders_api
    from .orders import views as order_views
    from .scheduler import models as _scheduler_models  # noqa: F401 (the lease table)
    from .search import api as search_api
    from .search import index as search_index
    from .search import views as search_views
    from .stats import api as stats_api
    from .stats import rollups as stats_rollups
    from .stats import views as stats_views
    from .vouchers import api as vouchers_api
    from .vouchers import services as voucher_ledger
    from .vouchers import views as voucher_views
    from .workspace import views as workspace_views

    app.register_blueprint(account_views.bp)
    app.register_blueprint(member_views.bp)
    app.register_blueprint(search_views.bp)
    app.register_blueprint(booking_views.bp)
    app.register_blueprint(desk_views.bp)
    app.register_blueprint(feed_views.bp)
    app.register_blueprint(admin_views.bp)
    app.extensions[COMPOSER] = compose_booking_mail
    booking_events.subscribe(app, bookings_changed)
    booking_events.subscribe(app, stats_rollups.bookings_created)
    stats_rollups.install()
    app.extensions[PAYMENT] = voucher_ledger
    search_index.install()
    app.register_blueprint(stats_views.bp)
    app.register_blueprint(voucher_views.bp)
    app.register_blueprint(workspace_views.bp)
    app.register_blueprint(order_views.bp)
    app.register_blueprint(docs_site.bp)
    app.register_blueprint(icons.bp)
    init_api(app, [accounts_api.blp, catalogue_api.blp, search_api.blp, booking_api.blp, desk_api.blp,
                   stats_api.blp, vouchers_api.blp, orders_api.blp])

    from . import cli

    cli.init_app(app)
    # What is built so far (modules, the app, its routes and schemas) lives
    # as long as the process: keep it out of the cyclic collector's full
    # passes, which otherwise walked it every few dozen requests (85 ms each
    # on the bench machine; search p95 110 ms where p50 is 28).
    gc.freeze()
    # A young collection every 20,000 new container objects, not every 700:
    # a statistics table of the corridor makes 20,000 rows and their dicts,
    # which no collection can free while they are made (a year by
    # instrument: 8% of its time in some 60 young collections, p95 -15 ms),
    # and requests make few reference cycles, freed a little later.
    gc.set_threshold(20_000, *gc.get_threshold()[1:])
    return app
