"""The statistics dashboard of each role: figures, charts, tables, exports."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, abort, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..accounts.policy import can_see_statistics
from ..errors import ServiceError
from ..labels import local_name
from ..text import TextRefused, clean_line
from ..timeutil import platform_today
from . import charts, service
from .policy import can_see_flows, stats_scope

bp = Blueprint("stats", __name__, url_prefix="/stats")


def _date_arg(name: str, default: date) -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return default


@bp.get("/")
@login_required
def dashboard():
    if not can_see_statistics(current_user):
        abort(403)
    today = platform_today()
    first = _date_arg("from", today - timedelta(days=30))
    last = _date_arg("to", today - timedelta(days=1))
    try:
        city = clean_line(request.args.get("city", "")) or None
    except TextRefused:
        city = None  # as for an unknown city: the viewer's whole scope
    try:
        scope = stats_scope(current_user, None, city)
        period = service.make_period(first, last)
    except ServiceError as error:
        if error.status == 403:
            abort(403)
        period = service.make_period(today - timedelta(days=30), today - timedelta(days=1))
        scope = stats_scope(current_user)
    by_city = service.utilisation(scope, period, "city")
    by_category = service.utilisation(scope, period, "category")
    instruments = service.utilisation(scope, period, "instrument")["rows"]
    trend_start = date(period.last.year - 1, period.last.month, 1) + timedelta(days=32)
    trend_start = trend_start.replace(day=1)
    trend = service.utilisation(scope, service.Period(trend_start, period.last), "month")["rows"]
    flows = service.flows(scope, period) if can_see_flows(current_user) else None
    quota = service.below_quota(scope, period)
    ranked = sorted(instruments, key=lambda r: (r["utilisation"], r["booked_hours"]))
    english = get_locale().language == "en"
    label = (lambda row: row["label_en"]) if english else (lambda row: row["label"])
    pct = lambda v: f"{float(v) * 100:.1f}%"  # noqa: E731
    figures = {
        "city_chart": charts.bar_chart(
            [(label(r), r["utilisation"], pct(r["utilisation"])) for r in by_city["rows"]],
            title=_("Utilisation by city")),
        "category_chart": charts.bar_chart(
            [(label(r), r["utilisation"], pct(r["utilisation"]))
             for r in sorted(by_category["rows"], key=lambda r: r["utilisation"], reverse=True)[:15]],
            title=_("Utilisation by category")),
        "trend_chart": charts.line_chart([(r["key"], r["utilisation"]) for r in trend],
                                         title=_("Utilisation by month")),
    }
    if flows:
        index = {code: i for i, code in enumerate(flows["cities"])}
        figures["flow_chart"] = charts.heat_map(
            [local_name(c) for c in service.cities()],
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
        "stats/dashboard.html", export_url=export_url, period=period, scope=scope, totals=by_city["totals"],
        by_city=by_city["rows"], by_category=by_category["rows"], trend=trend,
        most_used=list(reversed(ranked[-20:])), least_used=ranked[:20], quota=quota[:20],
        quota_count=len(quota), flows=flows, charts=figures, city=city, pct=pct,
        cities=service.cities(),
    )
