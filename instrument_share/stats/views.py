"""The statistics dashboard of each role: figures, charts, tables, exports."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..formats import money, percent
from ..timeutil import platform_today
from ..web import local_name
from . import charts
from .dashboard import dashboard as stats_dashboard
from .services import list_cities  # once per request

bp = Blueprint("stats", __name__, url_prefix="/stats")


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@bp.get("/")
@login_required
def dashboard():
    board = stats_dashboard(current_user, platform_today(), _date_arg("from"), _date_arg("to"),
                            request.args.get("city"))
    period, city, flows = board.period, board.city, board.flows
    english = get_locale().language == "en"
    label = (lambda row: row["label_en"]) if english else (lambda row: row["label"])
    pct = percent
    figures = {
        "city_chart": charts.bar_chart(
            [(label(r), r["utilisation"], pct(r["utilisation"])) for r in board.by_city["rows"]],
            title=_("Utilisation by city"), value_label=_("Utilisation (%)")),
        "category_chart": charts.bar_chart(
            [(label(r), r["utilisation"], pct(r["utilisation"]))
             for r in sorted(board.by_category["rows"], key=lambda r: r["utilisation"], reverse=True)[:15]],
            title=_("Utilisation by category"), value_label=_("Utilisation (%)")),
        "trend_chart": charts.line_chart([(r["key"], r["utilisation"]) for r in board.trend],
                                         title=_("Utilisation by month")),
        "order_chart": charts.bar_chart(
            [(label(r), r["orders"], f"{r['orders']} · {money(r['order_revenue'])}") for r in board.order_rows("city")],
            title=_("Entrusted-testing orders by city"), value_label=_("Orders (number)")),
    }
    if flows:
        index = {code: i for i, code in enumerate(flows["cities"])}
        figures["flow_chart"] = charts.heat_map(
            [local_name(c) for c in list_cities()],
            {(index[r["from"]], index[r["to"]]): r["hours"] for r in flows["rows"]},
            title=_("Hours booked by firms of each city (rows) at instruments of each city (columns)"))

    def export_url(endpoint: str, fmt: str, group_by: str | None = None) -> str:
        query = {"from": period.first.isoformat(), "to": period.last.isoformat(), "format": fmt}
        if group_by:
            query["group_by"] = group_by
        if city:
            query["city"] = city
        return url_for(endpoint, **query)

    return render_template(
        "stats/dashboard.html", export_url=export_url, period=period, scope=board.scope,
        totals=board.by_city["totals"], by_city=board.by_city["rows"], by_category=board.by_category["rows"],
        trend=board.trend, most_used=board.most_used, least_used=board.least_used, quota=board.quota,
        quota_count=board.quota_count, flows=flows, charts=figures, city=city, pct=pct,
        cities=list_cities(), order_rows=board.order_rows, as_of=board.as_of,
    )
