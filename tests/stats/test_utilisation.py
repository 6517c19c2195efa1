"""A hand-built week with exact expected figures (README, "Statistics")."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from instrument_share.booking.models import Blackout, Booking
from instrument_share.extensions import db

SH = ZoneInfo("Asia/Shanghai")
# Monday 28 September – Sunday 4 October 2026: National Day closes Thursday
# 1 and Friday 2 October, so the instrument (Mon–Fri 09:00–17:00) opens
# Monday to Wednesday: 24 h, less a 2 h blackout on Tuesday = 22 h.
PERIOD = {"from": "2026-09-28", "to": "2026-10-04"}


def t(day: int, hhmm: str, month: int = 9) -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=SH)


@pytest.fixture
def week(make):
    manager = make.user(role="manager")
    institution_id = manager.institution_id
    db.session.get(type(manager.institution), institution_id).city_code = "hefei"
    sem = make.instrument(institution_id=institution_id, name="扫描电镜", hourly_rate=Decimal("100.00"),
                          category_code="analytical-electron-optics")
    idle = make.instrument(institution_id=institution_id, name="闲置光谱仪", category_code="analytical-spectroscopy")
    firm_user = make.user()  # a firm of Jinhua (factory default)

    def add(start, end, status, user=firm_user, used=None):
        booking = Booking(instrument=sem, user=user, firm_id=user.firm_id, start=start, end=end,
                          occupied_until=end, status=status, purpose="x",
                          cost=Decimal(100) * Decimal((end - start).total_seconds() / 3600),
                          firm_pays=0)
        if used:
            booking.used_start, booking.used_end = used
        db.session.add(booking)

    add(t(27, "22:00"), t(28, "02:00"), "completed")  # crosses the start: 2 h inside
    add(t(28, "09:00"), t(28, "12:00"), "completed", used=(t(28, "09:00"), t(28, "11:30")))
    add(t(29, "10:00"), t(29, "12:00"), "cancelled")
    add(t(30, "09:00"), t(30, "10:00"), "no_show")
    add(t(30, "14:00"), t(30, "16:00"), "confirmed")
    add(t(4, "23:00", 10), t(5, "01:00", 10), "completed")  # crosses the end: 1 h inside
    add(t(29, "09:00"), t(29, "10:00"), "completed", user=manager, used=(t(29, "09:00"), t(29, "10:00")))
    db.session.add(Blackout(instrument=sem, start=t(29, "13:00"), end=t(29, "15:00"), reason="维护"))
    db.session.commit()
    return {"sem": sem, "idle": idle, "manager": manager, "firm_user": firm_user}


EXPECTED_SEM = {
    "open_hours": "22.00", "booked_hours": "9.00", "used_hours": "6.50", "external_hours": "5.50",
    "utilisation": "0.4091", "sharing_rate": "0.8462", "bookings": 4, "no_shows": 1,
    "no_show_rate": "0.2000", "revenue": "600.00", "instruments": 1,
}


def test_figures_by_instrument(api, make, week):
    admin = api.as_user(make.user(role="admin"))
    body = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "instrument"}).json
    rows = {r["label"]: r for r in body["rows"]}
    sem = {k: v for k, v in rows["扫描电镜"].items() if k in EXPECTED_SEM}
    assert sem == EXPECTED_SEM
    idle = rows["闲置光谱仪"]  # idle instruments are part of the answer
    assert (idle["open_hours"], idle["booked_hours"], idle["bookings"], idle["utilisation"]) == ("24.00", "0.00", 0, "0.0000")
    assert body["totals"]["open_hours"] == "46.00" and body["totals"]["booked_hours"] == "9.00"


def test_grouping_by_city_category_institution_month(api, make, week):
    admin = api.as_user(make.user(role="admin"))
    by_city = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "city"}).json
    hefei = next(r for r in by_city["rows"] if r["key"] == "hefei")
    assert (hefei["label"], hefei["open_hours"], hefei["booked_hours"], hefei["revenue"]) == ("合肥", "46.00", "9.00", "600.00")
    by_category = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "category"}).json
    keys = {r["key"]: r for r in by_category["rows"]}
    assert keys["analytical-electron-optics"]["booked_hours"] == "9.00"
    assert keys["analytical-spectroscopy"]["booked_hours"] == "0.00"
    by_month = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "month"}).json
    months = {r["key"]: r for r in by_month["rows"]}
    assert set(months) == {"2026-09", "2026-10"}
    assert months["2026-09"]["open_hours"] == "46.00"  # Mon–Wed; Thu, Fri and the weekend are closed
    assert months["2026-10"]["bookings"] == 1  # the one starting on 4 October
    by_institution = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "institution"}).json
    assert by_institution["totals"] == by_city["totals"]


def test_flow_matrix(api, make, week):
    admin = api.as_user(make.user(role="admin"))
    body = admin.get("/api/v1/stats/flows", query_string=PERIOD).json
    assert len(body["cities"]) == 9 and len(body["rows"]) == 81
    cell = next(r for r in body["rows"] if r["from"] == "jinhua" and r["to"] == "hefei")
    assert cell == {"from": "jinhua", "to": "hefei", "hours": "8.00", "bookings": 3, "revenue": "500.00",
                    "orders": 0, "order_revenue": "0.00"}
    assert sum(r["bookings"] for r in body["rows"]) == 3  # the manager's own booking is not a firm's


def test_an_institution_and_a_city_that_disagree_show_nothing_anywhere(api, make, week):
    """An admin's query for an institution of Hefei and the city of Jinhua:
    every figure is of the institution's instruments in Jinhua, none; the
    flows and the orders kept the institution's flows whatever the city
    (found by review, issue #20). For its own city they are the institution's."""
    admin = api.as_user(make.user(role="admin"))
    institution = week["manager"].institution_id
    both = {**PERIOD, "institution": institution}
    flows = {city: admin.get("/api/v1/stats/flows", query_string={**both, "city": city}).json
             for city in ("jinhua", "hefei")}
    own = admin.get("/api/v1/stats/flows", query_string=both).json
    assert sum(r["bookings"] for r in flows["jinhua"]["rows"]) == 0
    assert sum(r["orders"] for r in flows["jinhua"]["rows"]) == 0
    assert flows["hefei"] == own and sum(r["bookings"] for r in own["rows"]) == 3
    figures = admin.get("/api/v1/stats/utilisation", query_string={**both, "city": "jinhua"}).json
    assert figures["rows"] == [] or all(row["bookings"] == 0 for row in figures["rows"])


def test_exports_carry_the_same_numbers(api, make, week):
    admin = api.as_user(make.user(role="admin"))
    query = {**PERIOD, "group_by": "instrument", "headers": "codes"}  # the JSON's names, for scripts
    response = admin.get("/api/v1/stats/utilisation", query_string={**query, "format": "csv"})
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    sem = next(r for r in rows if r["label"] == "扫描电镜")
    for key, value in EXPECTED_SEM.items():
        assert Decimal(sem[key]) == Decimal(str(value))
    xlsx = admin.get("/api/v1/stats/utilisation", query_string={**query, "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header = [c.value for c in sheet[1]]
    values = {row[header.index("label")]: dict(zip(header, row, strict=True))
              for row in sheet.iter_rows(min_row=2, values_only=True)}
    for key, value in EXPECTED_SEM.items():
        assert Decimal(str(values["扫描电镜"][key])) == Decimal(str(value))
    flows_csv = admin.get("/api/v1/stats/flows", query_string={**PERIOD, "format": "csv", "headers": "codes"})
    assert "jinhua,hefei,8.00,3,500.00" in flows_csv.get_data(as_text=True)


def test_exports_are_headed_in_the_readers_language_by_default(api, make, week):
    admin = api.as_user(make.user(role="admin"))  # Chinese first
    response = admin.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "instrument",
                                                                    "format": "csv"})
    reader = csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")))
    rows = list(reader)
    assert len(set(reader.fieldnames)) == len(reader.fieldnames)  # no two headings read the same
    sem = next(r for r in rows if r["仪器"] == "扫描电镜")
    assert Decimal(sem["预约机时"]) == Decimal(str(EXPECTED_SEM["booked_hours"]))
    assert rows[-1]["仪器"] == "合计"
    flows = admin.get("/api/v1/stats/flows", query_string={**PERIOD, "format": "csv"}).get_data(as_text=True)
    assert flows.lstrip("\ufeff").startswith("企业所在城市,仪器所在城市,机时,")
    assert "金华,合肥,8.00,3,500.00" in flows
    english = api.as_user(make.user(role="admin", language="en"))  # a token's user: their own language
    flows = english.get("/api/v1/stats/flows", query_string={**PERIOD, "format": "csv"}).get_data(as_text=True)
    assert flows.lstrip("\ufeff").startswith("Firms of,Instruments of,Hours,") and "Jinhua,Hefei,8.00" in flows


def test_scopes_and_refusals(api, client, make, week):
    manager = api.as_user(week["manager"])
    own = manager.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "instrument"}).json
    assert {r["label"] for r in own["rows"]} == {"扫描电镜", "闲置光谱仪"}
    other_manager = api.as_user(make.user(role="manager"))
    theirs = other_manager.get("/api/v1/stats/utilisation", query_string={**PERIOD, "group_by": "instrument"}).json
    assert theirs["rows"] == []
    assert other_manager.get("/api/v1/stats/utilisation", query_string={
        **PERIOD, "institution": week["manager"].institution_id}).status_code == 403
    hefei = api.as_user(make.user(role="city_admin", city_code="hefei"))
    assert hefei.get("/api/v1/stats/utilisation", query_string=PERIOD).json["totals"]["booked_hours"] == "9.00"
    assert hefei.get("/api/v1/stats/utilisation", query_string={**PERIOD, "city": "jinhua"}).status_code == 403
    jinhua = api.as_user(make.user(role="city_admin", city_code="jinhua"))
    assert jinhua.get("/api/v1/stats/utilisation", query_string=PERIOD).json["totals"]["booked_hours"] == "0.00"
    consumer = jinhua.get("/api/v1/stats/flows", query_string=PERIOD).json  # Jinhua's firms as consumers
    assert sum(r["bookings"] for r in consumer["rows"]) == 3
    assert api.as_user(week["firm_user"]).get("/api/v1/stats/utilisation", query_string=PERIOD).status_code == 403
    assert client.get("/api/v1/stats/utilisation", query_string=PERIOD).status_code == 401
    assert client.get("/api/v1/stats/flows", query_string=PERIOD).status_code == 401


@pytest.mark.parametrize(
    "query",
    [{}, {"from": "2026-09-28"}, {"from": "2026-10-04", "to": "2026-09-28"},
     {"from": "2020-01-01", "to": "2026-01-01"}, {"from": "x", "to": "y"},
     {"from": "2026-09-28", "to": "2026-10-04", "group_by": "planet"},
     {"from": "2026-09-28", "to": "2026-10-04", "format": "pdf"}],
)
def test_bad_parameters(api, make, query):
    admin = api.as_user(make.user(role="admin"))
    response = admin.get("/api/v1/stats/utilisation", query_string=query)
    assert response.status_code == 422 and response.json["error"] == "validation"


def test_below_quota(make, app_context, week):
    from datetime import date

    from instrument_share.stats import services

    period = services.Period(date(2026, 9, 28), date(2026, 10, 4))
    rows = {r["name"]: r for r in services.below_quota(services.Scope(), period)}
    # 4 October is day 277 of 365: a general-purpose instrument should have 1400 × 277/365 h.
    expected = (Decimal(1400) * Decimal(277) / Decimal(365)).quantize(Decimal("0.01"))
    assert rows["扫描电镜"]["expected_hours"] == expected
    # Year to date the booking of 27–28 September counts whole (4 h), not clipped (2 h).
    assert rows["扫描电镜"]["used_hours"] == Decimal("8.50")
    assert rows["闲置光谱仪"]["attainment"] == 0


def test_dashboard_pages(browser, client, make, week):
    from ..conftest import csrf_token_from

    make.user(role="admin", email="office@g60.example")
    browser.login("office@g60.example")
    html = client.get("/stats/?from=2026-09-28&to=2026-10-04").get_data(as_text=True)
    assert '<svg class="chart"' in html and "<script" not in html.split("</main>")[0]
    assert 'id="figure-booked_hours">9.0<' in html and "扫描电镜" in html
    assert "format=xlsx" in html and "合肥" in html
    # Issue #19: the heat map says which axis is "from", each chart's value
    # axis its unit; in either language.
    assert "需求方城市 → 提供方城市" in html and ">提供方城市 ↓<" in html
    assert html.count(">利用率（%）<") >= 2 and ">月份<" in html
    browser.english()
    english = client.get("/stats/?from=2026-09-28&to=2026-10-04").get_data(as_text=True)
    assert "Requesting city → Providing city" in english and ">Providing city ↓<" in english
    assert english.count(">Utilisation (%)<") >= 2 and ">Month<" in english
    assert "需求方城市" not in english
    assert client.get("/stats/?from=bad&to=worse").status_code == 200
    client.post("/logout", data={"csrf_token": csrf_token_from(html)})
    browser.login(week["manager"].email)
    manager_page = client.get("/stats/?from=2026-09-28&to=2026-10-04").get_data(as_text=True)
    assert 'id="figure-booked_hours">9.0<' in manager_page
    assert client.get("/stats/?city=jinhua").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token_from(manager_page)})
    make.user(email="firm@firm.example")
    browser.login("firm@firm.example")
    assert client.get("/stats/").status_code == 403
