"""Entrusted-testing orders in the statistics (issue #18; README,
"Statistics (definitions)"): orders, order revenue, its voucher part and
the median turnaround per institution, city, category, instrument and
month, in the API, the exports, the dashboard and the reports; an order's
machine time counts as effective and external service time.

Every order is made through the real API, step by step, on days set by a
clock: around National Day 2026 (1–7 October off, Saturday 10 October a
make-up working day)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email import message_from_string, policy
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from instrument_share import timeutil
from instrument_share.booking.models import Booking
from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.orders import services as order_services
from instrument_share.orders.services import add_working_days
from instrument_share.scheduler.reports import monthly_city_report, monthly_corridor_report
from instrument_share.stats import services
from instrument_share.stats.orders import median, turnaround_days

SH = ZoneInfo("Asia/Shanghai")
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def sh(month: int, day: int, hhmm: str = "10:00") -> datetime:
    hours, minutes = map(int, hhmm.split(":"))
    return datetime(2026, month, day, hours, minutes, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch):
    """Sets the platform's today (samples received, quotes valid) and the
    time order events are written at; tokens and mail keep the real time."""

    def set_to(moment: datetime) -> None:
        now = moment.astimezone(UTC)
        monkeypatch.setattr(timeutil, "utcnow", lambda: now)  # platform_today() reads it
        monkeypatch.setattr(order_services, "utcnow", lambda: now)

    return set_to


def _order_steps(firm, lab, clock, instrument, amount, received, reported=None, minutes=None, voucher_id=None,
                 rate=False, decline=False) -> int:
    """One order through the API: sent, quoted and accepted on the morning
    samples arrive, received at 10:00, reported at `reported` (with
    `minutes` of machine time), rated if asked."""
    clock(received.replace(hour=9))
    body = {"instrument_id": instrument.id, "title": "物相分析", "requirements": "全谱",
            "samples": [{"name": "粉末", "quantity": 1, "unit": "份"}]}
    if voucher_id is not None:
        body["voucher_id"] = voucher_id
    made = firm.post("/api/v1/orders", json=body)
    assert made.status_code == 201, made.json
    url = f"/api/v1/orders/{made.json['id']}"
    if decline:
        assert lab.post(f"{url}/decline", json={"reason": "无资质"}).status_code == 200
        return made.json["id"]
    assert lab.post(f"{url}/quote", json={"amount": amount, "turnaround_days": 5}).status_code == 200
    accepted = firm.post(f"{url}/accept")
    assert accepted.status_code == 200, accepted.json
    clock(received)
    assert lab.post(f"{url}/receive").status_code == 200
    if reported is None:
        return made.json["id"]
    clock(reported)
    query = f"?machine_minutes={minutes}" if minutes else ""
    uploaded = lab.client.post(f"{url}/report{query}", headers=lab._headers(),
                               data={"file": (io.BytesIO(PDF), "report.pdf")})
    assert uploaded.status_code == 200, uploaded.json
    if rate:
        assert firm.post(f"{url}/rate", json={"rating": 5, "comment": "好"}).json["status"] == "closed"
    return made.json["id"]


@pytest.fixture
def corridor(make, api, clock):
    """Three institutions, two firms, nine orders:

    | order | institution (city) | instrument      | firm    | fee  | received → reported        | days | machine |
    | o1    | A (Hangzhou)       | XRD (X-ray)     | Jinhua  | 1200 | Wed 30 Sep → Thu 8 Oct     | 1    | 90 min, voucher 600, closed |
    | o2    | A                  | XRD             | Jinhua  | 500  | Fri 9 Oct → Mon 12 Oct     | 2    | 30 min  |
    | o3    | A                  | XRD             | Jinhua  | 800  | Mon 12 Oct → Fri 16 Oct    | 4    | none    |
    | o4    | B (Hefei)          | SEM (e-optics)  | Jinhua  | 3000 | Mon 19 Oct → Wed 21 Oct    | 2    | 120 min |
    | o5    | B                  | SEM             | Jiaxing | 1500 | Tue 20 Oct → Tue 27 Oct    | 5    | 60 min  |
    | o6    | C (Hangzhou)       | SEM (e-optics)  | Jiaxing | 2000 | Tue 20 Oct → Tue 27 Oct    | 5    | 45 min  |
    | o7    | A                  | XRD             | Jinhua  | 999  | Mon 26 Oct → Sun 1 Nov 00:30 | 5  | 600 min |
    | o8    | A                  | XRD             | Jinhua  | 700  | received 28 Oct, no report |      |         |
    | o9    | A                  | XRD             | Jinhua  |      | declined                   |      |         |

    and a staff booking of A's XRD: 1 h used by its manager on 13 October;
    an idle spectrometer in Jinhua."""
    a = make.institution(name="杭州甲研究院", name_en="A Institute", city_code="hangzhou")
    b = make.institution(name="合肥乙大学", name_en="B University", city_code="hefei")
    c = make.institution(name="杭州丙中心", name_en="C Centre", city_code="hangzhou")
    managers = {key: make.user("manager", institution_id=inst.id) for key, inst in (("a", a), ("b", b), ("c", c))}
    xrd = make.instrument(institution_id=a.id, name="X射线衍射仪", category_code="analytical-x-ray")
    sem_b = make.instrument(institution_id=b.id, name="扫描电镜乙", category_code="analytical-electron-optics")
    sem_c = make.instrument(institution_id=c.id, name="扫描电镜丙", category_code="analytical-electron-optics")
    make.instrument(institution=make.institution(name="金华丁学院", city_code="jinhua"), name="光谱仪",
                    category_code="analytical-spectroscopy")  # takes no order
    jinhua_user = make.user(email="eng@jinhua.example")
    jiaxing_user = make.user(firm=make.firm(city_code="jiaxing"), email="eng@jiaxing.example")
    bureau = api.as_user(make.user("city_admin", city_code="jinhua"))
    voucher = bureau.post("/api/v1/vouchers", json={"firm_id": jinhua_user.firm_id, "amount": "10000",
                                                    "expires_on": "2027-12-31", "max_share": "0.5"})
    assert voucher.status_code == 201, voucher.json
    jinhua, jiaxing = api.as_user(jinhua_user), api.as_user(jiaxing_user)
    lab = {key: api.as_user(user) for key, user in managers.items()}

    _order_steps(jinhua, lab["a"], clock, xrd, "1200", sh(9, 30), sh(10, 8), 90, voucher.json["id"], rate=True)
    _order_steps(jinhua, lab["a"], clock, xrd, "500", sh(10, 9), sh(10, 12), 30)
    _order_steps(jinhua, lab["a"], clock, xrd, "800", sh(10, 12), sh(10, 16, "23:30"))
    _order_steps(jinhua, lab["b"], clock, sem_b, "3000", sh(10, 19), sh(10, 21), 120)
    _order_steps(jiaxing, lab["b"], clock, sem_b, "1500", sh(10, 20), sh(10, 27), 60)
    _order_steps(jiaxing, lab["c"], clock, sem_c, "2000", sh(10, 20), sh(10, 27), 45)
    _order_steps(jinhua, lab["a"], clock, xrd, "999", sh(10, 26), sh(11, 1, "00:30"), 600)
    _order_steps(jinhua, lab["a"], clock, xrd, "700", sh(10, 28))
    _order_steps(jinhua, lab["a"], clock, xrd, None, sh(10, 28), decline=True)
    begin_write_transaction()
    start = sh(10, 13, "09:00")
    db.session.add(Booking(instrument_id=xrd.id, user_id=managers["a"].id, start=start, end=start + timedelta(hours=1),
                           occupied_until=start + timedelta(hours=1), status="completed", purpose="自用",
                           cost=Decimal("0.00"), firm_pays=Decimal("0.00"), used_start=start,
                           used_end=start + timedelta(hours=1)))
    db.session.commit()
    return {"a": a, "b": b, "c": c, "xrd": xrd, "managers": managers, "lab": lab}


ORDER_FIELDS = ("orders", "order_revenue", "order_voucher_revenue", "order_hours", "median_turnaround_days")


def _orders(row: dict) -> tuple:
    return tuple(row[name] for name in ORDER_FIELDS)


def _grouped(client, group_by: str, period: dict = OCTOBER) -> dict:
    answer = client.get("/api/v1/stats/utilisation", query_string={**period, "group_by": group_by})
    assert answer.status_code == 200, answer.json
    return answer.json


def test_order_figures_per_institution_city_category_and_in_total(api, make, corridor):
    admin = api.as_user(make.user("admin"))
    by_institution = {r["label"]: _orders(r) for r in _grouped(admin, "institution")["rows"]}
    assert by_institution == {
        # o1–o3: a median of 1, 2 and 4 working days; o7 is November's, o8 and o9 never reported
        "杭州甲研究院": (3, "2500.00", "600.00", "2.00", "2.0"),
        "合肥乙大学": (2, "4500.00", "0.00", "3.00", "3.5"),  # the mean of the middle two
        "杭州丙中心": (1, "2000.00", "0.00", "0.75", "5.0"),
        "金华丁学院": (0, "0.00", "0.00", "0.00", None),  # no order is not a turnaround of 0
    }
    by_city = {r["key"]: _orders(r) for r in _grouped(admin, "city")["rows"]}
    # Hangzhou's median is of its four orders (1, 2, 4, 5), not of its institutions' medians
    assert by_city["hangzhou"] == (4, "4500.00", "600.00", "2.75", "3.0")
    assert by_city["hefei"] == (2, "4500.00", "0.00", "3.00", "3.5")
    assert by_city["jinhua"] == (0, "0.00", "0.00", "0.00", None)
    by_category = _grouped(admin, "category")
    categories = {r["key"]: _orders(r) for r in by_category["rows"]}
    assert categories["analytical-x-ray"] == (3, "2500.00", "600.00", "2.00", "2.0")
    assert categories["analytical-electron-optics"] == (3, "6500.00", "0.00", "3.75", "5.0")  # 2, 5, 5
    assert _orders(by_category["totals"]) == (6, "9000.00", "600.00", "5.75", "3.0")  # 1, 2, 2, 4, 5, 5


def test_machine_time_is_effective_and_external_service_time_never_booked_time(api, make, corridor):
    admin = api.as_user(make.user("admin"))
    xrd = next(r for r in _grouped(admin, "instrument")["rows"] if r["key"] == str(corridor["xrd"].id))
    # The staff booking: 1 h booked and used, none external; the orders: 1.5 h + 0.5 h, all external.
    assert (xrd["booked_hours"], xrd["used_hours"], xrd["external_hours"], xrd["order_hours"]) == (
        "1.00", "3.00", "2.00", "2.00")
    assert xrd["sharing_rate"] == "0.6667" and xrd["bookings"] == 1 and xrd["revenue"] == "0.00"
    quota = {r["name"]: r for r in services.below_quota(services.Scope(institution_id=corridor["a"].id),
                                                         services.Period(date(2026, 10, 1), date(2026, 10, 31)))}
    assert quota["X射线衍射仪"]["used_hours"] == Decimal("3.00")  # o7's 10 h fall in November


def test_an_order_counts_in_the_month_of_its_report_in_the_platform_zone(api, make, corridor):
    admin = api.as_user(make.user("admin"))
    months = {r["key"]: r for r in _grouped(admin, "month", {"from": "2026-09-01", "to": "2026-11-30"})["rows"]}
    # o7's report at 00:30 on 1 November in Shanghai is still 31 October in UTC
    assert [months[m]["orders"] for m in ("2026-09", "2026-10", "2026-11")] == [0, 6, 1]
    november = months["2026-11"]
    # received Monday 26 October, reported Sunday 1 November: four working days and the Sunday as the fifth
    assert (november["order_revenue"], november["median_turnaround_days"], november["used_hours"]) == (
        "999.00", "5.0", "10.00")


def test_scopes_see_their_own_orders_and_flows_carry_them(api, make, corridor):
    manager = api.as_user(corridor["managers"]["a"])
    own = _grouped(manager, "institution")
    assert [(r["label"], r["orders"]) for r in own["rows"]] == [("杭州甲研究院", 3)]
    hangzhou = api.as_user(make.user("city_admin", city_code="hangzhou"))
    assert _orders(_grouped(hangzhou, "city")["totals"]) == (4, "4500.00", "600.00", "2.75", "3.0")
    hefei = api.as_user(make.user("city_admin", city_code="hefei"))
    assert _orders(_grouped(hefei, "category")["totals"]) == (2, "4500.00", "0.00", "3.00", "3.5")

    admin = api.as_user(make.user("admin"))
    cells = {(r["from"], r["to"]): (r["orders"], r["order_revenue"])
             for r in admin.get("/api/v1/stats/flows", query_string=OCTOBER).json["rows"] if r["orders"]}
    assert cells == {("jinhua", "hangzhou"): (3, "2500.00"), ("jinhua", "hefei"): (1, "3000.00"),
                     ("jiaxing", "hefei"): (1, "1500.00"), ("jiaxing", "hangzhou"): (1, "2000.00")}
    jinhua = api.as_user(make.user("city_admin", city_code="jinhua"))  # its firms as consumers
    consumer = {(r["from"], r["to"]): r["orders"]
                for r in jinhua.get("/api/v1/stats/flows", query_string=OCTOBER).json["rows"] if r["orders"]}
    assert consumer == {("jinhua", "hangzhou"): 3, ("jinhua", "hefei"): 1}


def test_the_openapi_document_describes_the_order_figures(api, make, corridor):
    spec = api.as_user(make.user("admin")).get("/api/v1/openapi.json").json
    figures = spec["components"]["schemas"]["Figures"]["properties"]
    assert set(ORDER_FIELDS) <= set(figures)
    assert figures["median_turnaround_days"].get("nullable") is True or "null" in str(figures["median_turnaround_days"])


def test_exports_carry_the_order_columns(api, make, corridor):
    admin = api.as_user(make.user("admin"))
    answer = admin.get("/api/v1/stats/utilisation", query_string={**OCTOBER, "group_by": "city", "format": "csv",
                                                                        "headers": "codes"})
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert set(ORDER_FIELDS) <= set(rows[0])
    by_key = {r["key"]: r for r in rows}
    assert tuple(by_key["hefei"][name] for name in ORDER_FIELDS) == ("2", "4500.00", "0.00", "3.00", "3.5")
    assert by_key["total"]["orders"] == "6" and by_key["total"]["median_turnaround_days"] == "3.0"
    assert by_key["jinhua"]["median_turnaround_days"] == ""  # no orders: an empty cell

    xlsx = admin.get("/api/v1/stats/utilisation", query_string={**OCTOBER, "group_by": "category", "format": "xlsx",
                                                                     "headers": "codes"})
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    header = [cell.value for cell in sheet[1]]
    values = {row[0]: dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    optics = values["analytical-electron-optics"]
    assert (optics["orders"], optics["order_revenue"], optics["median_turnaround_days"]) == (3, 6500, 5)

    flows = admin.get("/api/v1/stats/flows", query_string={**OCTOBER, "format": "csv", "headers": "codes"})
    flows = flows.get_data(as_text=True)
    assert flows.splitlines()[0].lstrip("\ufeff") == "from,to,hours,bookings,revenue,orders,order_revenue"
    assert "jiaxing,hefei,0,0,0.00,1,1500.00" in flows


def test_the_dashboard_shows_the_order_figures(browser, client, make, corridor):
    make.user("admin", email="office@g60.example")
    browser.login("office@g60.example")
    html = client.get("/stats/?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert 'id="figure-orders">6<' in html and 'id="figure-order_revenue">¥9,000.00<' in html
    assert 'id="figure-order_voucher_revenue">¥600.00<' in html and 'id="figure-order_hours">5.8<' in html
    assert re.search(r'id="figure-median_turnaround_days">\D*3\.0\D', html)
    institutions = html.split('id="orders-by-institution"')[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>([^<]+)</td><td>(\d+)</td><td>¥([\d,.]+)</td><td>¥([\d,.]+)</td><td>([^<]*)</td>",
                      institutions)
    assert [(name, n, revenue, voucher, re.sub(r"[^\d.]", "", days)) for name, n, revenue, voucher, days in rows] == [
        ("杭州甲研究院", "3", "2,500.00", "600.00", "2.0"), ("合肥乙大学", "2", "4,500.00", "0.00", "3.5"),
        ("杭州丙中心", "1", "2,000.00", "0.00", "5.0")]  # the most orders first
    assert "orders-by-city" in html
    categories = html.split('id="orders-by-category"')[1].split("</table>")[0]
    assert re.findall(r"<tr><td>[^<]+</td><td>(\d+)</td><td>¥([\d,.]+)</td>", categories) == [
        ("3", "6,500.00"), ("3", "2,500.00")]  # as many orders: the more revenue first

    browser_manager = corridor["managers"]["b"]
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                                                         html).group(1)})
    browser.login(browser_manager.email)
    own = client.get("/stats/?from=2026-10-01&to=2026-10-31").get_data(as_text=True)
    assert 'id="figure-orders">2<' in own and "杭州甲研究院" not in own


def _report(kind: str, recipient: str):
    raw = db.session.scalar(sa.select(OutboxMessage.raw).where(OutboxMessage.kind == kind,
                                                               OutboxMessage.recipient == recipient))
    return message_from_string(raw, policy=policy.default)


def test_monthly_reports_list_the_order_figures(make, corridor, app_context):
    make.user("city_admin", city_code="hangzhou", email="bureau@hz.example")
    make.user("admin", email="office@g60.example")
    begin_write_transaction()
    october = services.Period(date(2026, 10, 1), date(2026, 10, 31))
    assert monthly_city_report(sh(11, 2), october) == 2  # Hangzhou's bureau and Jinhua's
    assert monthly_corridor_report(sh(11, 2), october) == 1
    db.session.commit()

    city = _report("monthly-city-report", "bureau@hz.example")
    html = city.get_body(("html",)).get_content()
    row_a = re.search(r"<tr><td>杭州甲研究院</td>(.*?)</tr>", html).group(1)
    assert row_a.endswith("<td>3</td><td>¥2,500.00</td><td>¥600.00</td><td>2.0</td>")
    assert "<td>杭州丙中心</td>" in html and "合肥乙大学" not in html  # Hangzhou's institutions only
    totals = re.search(r"<tr><th>[^<]*</th>(.*?)</tr>", html.split("</tr>", 1)[1]).group(1)
    assert totals.endswith("<th>4</th><th>¥4,500.00</th><th>¥600.00</th><th>3.0</th>")
    text = city.get_body(("plain",)).get_content()
    assert "¥4,500.00" in text and "杭州丙中心" in text and "¥2,000.00" in text
    attachment = next(city.iter_attachments()).get_content()
    rows = list(csv.DictReader(io.StringIO(attachment.decode("utf-8-sig") if isinstance(attachment, bytes)
                                           else attachment.lstrip("\ufeff"))))
    # Headed in the bureau's language, as the mail is, with the totals last.
    attached = {r["单位"]: (r["委托订单"], r["委托测试收入（元）"], r["周期中位数（工作日）"]) for r in rows}
    assert attached == {"杭州甲研究院": ("3", "2500.00", "2.0"), "杭州丙中心": ("1", "2000.00", "5.0"),
                        "合计": ("4", "4500.00", "3.0")}

    corridor_html = _report("monthly-corridor-report", "office@g60.example").get_body(("html",)).get_content()
    hefei = re.search(r"<tr><td>合肥</td>(.*?)</tr>", corridor_html).group(1)
    assert hefei.endswith("<td>2</td><td>¥4,500.00</td><td>¥0.00</td><td>3.5</td>")
    assert re.search(r"嘉兴 → 合肥</td>.*?¥1,500\.00", corridor_html)  # a flow of orders only


@pytest.mark.parametrize(("received", "reported", "days"), [
    (date(2026, 9, 30), date(2026, 10, 8), 1),    # National Day: 1–7 October off
    (date(2026, 10, 9), date(2026, 10, 12), 2),   # Saturday 10 October is a make-up working day
    (date(2026, 10, 12), date(2026, 10, 12), 0),  # the same day
    (date(2026, 11, 27), date(2026, 11, 28), 1),  # Friday → Saturday: as if given on Monday
    (date(2026, 9, 30), date(2026, 10, 3), 1),    # given in the holiday: as if on 8 October
])
def test_turnaround_in_working_days(app_context, received, reported, days):
    assert turnaround_days(received, reported) == days


def test_a_turnaround_is_on_time_exactly_when_the_report_is_due_by_then(app_context):
    """The rule that fixes the day-off case: turnaround ≤ n ⇔ report day ≤ add_working_days(receipt, n)."""
    for offset in range(0, 60, 3):
        received = date(2026, 9, 15) + timedelta(days=offset)
        for n in (1, 2, 5):
            due = add_working_days(received, n)
            for reported in (received + timedelta(days=k) for k in range(0, 20)):
                assert (turnaround_days(received, reported) <= n) == (reported <= due), (received, reported, n)


def test_median():
    assert median([]) is None
    assert median([4, 1, 2]) == Decimal("2.0")
    assert median([5, 2]) == Decimal("3.5")
    assert median([1, 2, 2, 4, 5, 5]) == Decimal("3.0")


def test_the_dashboards_two_paths_count_the_orders_alike(make, corridor, app_context):
    """Summed by the database (October before "today") or per instrument
    (today in October), the dashboard counts each order in its groups, its
    instrument's row and its used hours towards the quota (issue #20)."""
    from instrument_share.accounts.models import User
    from instrument_share.stats.dashboard import dashboard

    viewers = [make.user("admin"), make.user("city_admin", city_code="hangzhou"), corridor["managers"]["a"]]
    for viewer in viewers:
        viewer = db.session.get(User, viewer.id)
        by_database = dashboard(viewer, date(2100, 1, 1), date(2026, 10, 1), date(2026, 10, 31), None)
        assert by_database == dashboard(viewer, date(2026, 10, 1), date(2026, 10, 1), date(2026, 10, 31), None)
    xrd = next(row for row in by_database.quota if row["id"] == corridor["xrd"].id)
    assert xrd["used_hours"] == Decimal("3.00")  # o1's 90 and o2's 30 minutes, and the staff's hour
    assert by_database.by_institution["totals"]["orders"] == 3
    assert [row["orders"] for row in by_database.most_used + by_database.least_used if row["orders"]] == [3, 3]


def test_every_grouping_counts_the_orders_alike_from_the_roll_ups_and_from_the_raw_rows(make, corridor, app_context):
    """The API's utilisation of October summed by the database per group
    (October before "today") and per instrument (today in October): each
    order in its instrument's group, for the corridor and for a city's scope
    (Hangzhou's four: its institutions' orders, not Hefei's)."""
    from instrument_share.accounts.policy import Scope

    october = services.Period(date(2026, 10, 1), date(2026, 10, 31))
    for scope, orders in ((Scope(), 6), (Scope(city="hangzhou"), 4)):
        for group_by in ("city", "institution", "category", "instrument"):
            by_database = services.utilisation(scope, october, group_by, today=date(2100, 1, 1))
            assert by_database == services.utilisation(scope, october, group_by, today=october.first), group_by
            assert by_database["totals"]["orders"] == orders, (scope, group_by)
            assert sum(row["orders"] for row in by_database["rows"]) == orders, (scope, group_by)
