"""The /api/v1 blueprint set: flask-smorest for parsing and the OpenAPI document."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api

from .errors import ErrorSchema


class InstrumentShareApi(Api):
    """flask-smorest with our error shape; the app's own handler renders errors."""

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        # web.init_app registers one HTTPException handler for pages and API.
        pass


api = InstrumentShareApi(
    spec_kwargs={
        "info": {
            "description": "The public contract of instrument-share (see API.md).",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
)


def init_api(app: Flask) -> None:
    from ..accounts.api import blp as accounts_blp
    from ..booking.api import blp as booking_blp
    from ..catalogue.api import blp as catalogue_blp
    from ..extensions import csrf
    from ..stats.api import blp as stats_blp
    from ..vouchers.api import blp as vouchers_blp

    app.json.ensure_ascii = False
    app.json.sort_keys = False
    api.init_app(app)
    for blueprint in (accounts_blp, catalogue_blp, booking_blp, stats_blp, vouchers_blp):
        csrf.exempt(blueprint)
        api.register_blueprint(blueprint, url_prefix="/api/v1")
