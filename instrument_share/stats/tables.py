"""The statistics as tables: the CSV and XLSX of the stats endpoints (the
dashboard's download links are these endpoints) and the reports' attachments.

Headed in the reader's language by default (Chinese first), with names and
cities by their display names; `headers=codes` gives the machine names and
the stored codes, the columns of the JSON answer, for scripts. Figures stay
numbers (hours, rates as fractions, yuan), so a spreadsheet can sum them."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..accounts.services import list_cities
from ..web import local_name

FIGURE_LABELS = {
    "open_hours": _l("Open hours"),
    "booked_hours": _l("Booked hours"),
    "used_hours": _l("Effective hours"),
    "external_hours": _l("External service hours"),
    "utilisation": _l("Utilisation"),
    "sharing_rate": _l("Sharing rate"),
    "bookings": _l("Bookings"),
    "no_shows": _l("No-shows"),
    "no_show_rate": _l("No-show rate"),
    "revenue": _l("Revenue (CNY)"),
    "voucher_revenue": _l("Paid by vouchers (CNY)"),
    "voucher_share": _l("Share paid by vouchers"),
    "instruments": _l("Number of instruments"),
    "orders": _l("Orders"),
    "order_revenue": _l("Order revenue (CNY)"),
    "order_voucher_revenue": _l("Order revenue paid by vouchers (CNY)"),
    "order_hours": _l("Machine hours of orders"),
    "median_turnaround_days": _l("Median turnaround (working days)"),
}
FIGURE_COLUMNS = list(FIGURE_LABELS)
GROUP_LABELS = {"city": _l("City"), "institution": _l("Institution"), "category": _l("Category"),
                "instrument": _l("Instrument"), "month": _l("Month")}
FLOW_LABELS = {"from": _l("Firms of"), "to": _l("Instruments of"), "hours": _l("Hours"), "bookings": _l("Bookings"),
               "revenue": _l("Revenue (CNY)"), "orders": _l("Orders"), "order_revenue": _l("Order revenue (CNY)")}
FLOW_COLUMNS = list(FLOW_LABELS)
SETTLEMENT_LABELS = {"issuing_city": _l("Issuing city"), "institution_id": _l("Institution no."),
                     "institution": _l("Institution"), "provider_city": _l("City of the institution"),
                     "amount": _l("Amount (CNY)"), "bookings": _l("Bookings"), "orders": _l("Orders")}
SETTLEMENT_COLUMNS = list(SETTLEMENT_LABELS)


def _city_names() -> dict[str, str]:
    return {city.code: local_name(city) for city in list_cities()}


def _table(labels: dict, rows: list[dict], codes: bool, **values) -> tuple[list[str], list[dict]]:
    """Headings and rows keyed by them; `values` turn a column's stored value into what a reader reads."""
    if codes:
        return list(labels), rows
    headings = {name: str(label) for name, label in labels.items()}
    return list(headings.values()), [
        {headings[name]: values[name](row.get(name)) if name in values else row.get(name, "") for name in labels}
        for row in rows]


def utilisation_table(result: dict, group_by: str, codes: bool) -> tuple[list[str], list[dict]]:
    """A row per group and the totals. With codes, `key` and `label` as in the JSON; else the
    group's name in the reader's language (an instrument's or institution's number beside it)."""
    if codes:
        rows = result["rows"] + [{"key": "total", "label": "合计 Total", **result["totals"]}]
        return ["key", "label", *FIGURE_COLUMNS], rows
    english = get_locale().language == "en"
    name = {"label": GROUP_LABELS.get(group_by, _l("Group"))}
    rows = [{**row, "label": (row.get("label_en") if english else None) or row["label"]} for row in result["rows"]]
    rows.append({"label": _("Total"), **result["totals"]})
    if group_by in ("institution", "instrument"):
        name = {"key": _l("No."), **name}
        rows = [{**row, "key": row.get("key", "")} for row in rows]
    return _table({**name, **FIGURE_LABELS}, rows, codes=False)


def flows_table(result: dict, codes: bool) -> tuple[list[str], list[dict]]:
    names = _city_names()
    city = lambda code: names.get(code, code)  # noqa: E731
    return _table(FLOW_LABELS, result["rows"], codes, **{"from": city, "to": city})


def settlement_table(result: dict, codes: bool) -> tuple[list[str], list[dict]]:
    names = _city_names()
    city = lambda code: names.get(code, code)  # noqa: E731
    return _table(SETTLEMENT_LABELS, result["rows"], codes, issuing_city=city, provider_city=city)
