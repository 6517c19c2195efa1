"""The whole booking history (issue #17): every booking of the firm, paged
and filtered on the page, downloadable as CSV and XLSX in the reader's
language (or machine names), and paged through without a cap by the API."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal

from openpyxl import load_workbook

from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.timeutil import utcnow


def _history(make, user, instrument, count: int, status="completed", days_back=1, purpose="SEM"):
    start = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(days=days_back)
    for n in range(count):
        begin = start - timedelta(hours=2 * n)
        db.session.add(Booking(instrument=instrument, user=user, firm_id=user.firm_id, start=begin,
                               end=begin + timedelta(hours=1), occupied_until=begin + timedelta(hours=1),
                               status=status, purpose=purpose, cost=Decimal("300.00"),
                               voucher_amount=Decimal("0.00"), firm_pays=Decimal("300.00")))
    db.session.commit()


def test_every_booking_of_the_firm_is_on_the_page_paged(browser, client, make, app_context):
    engineer = make.user(email="eng@firm.example", name="陈工")
    colleague = make.user(firm=engineer.firm, name="李工")
    sem, xrd = make.instrument(name="扫描电镜甲"), make.instrument(name="衍射仪乙")
    _history(make, engineer, sem, 40)
    _history(make, colleague, xrd, 20, status="cancelled", days_back=200)
    browser.login("eng@firm.example")
    first = client.get("/bookings").get_data(as_text=True)
    assert "共 60 条预约" in first and first.count("/bookings/") >= 25 and "李工" not in first  # newest first
    last = client.get("/bookings?page=3").get_data(as_text=True)
    assert "李工" in last and "3 / 3" in last
    cancelled = client.get("/bookings?status=cancelled").get_data(as_text=True)
    assert "共 20 条预约" in cancelled and "陈工" not in cancelled.split('id="history-table"')[1]
    by_instrument = client.get(f"/bookings?instrument={sem.id}").get_data(as_text=True)
    assert "共 40 条预约" in by_instrument
    today = utcnow().date()
    recent = client.get(f"/bookings?from_={today - timedelta(days=30)}&to={today}").get_data(as_text=True)
    assert "共 40 条预约" in recent
    bad = client.get("/bookings?status=nonsense&from_=yesterday")
    assert bad.status_code == 200 and "共 60 条预约" in bad.get_data(as_text=True)  # a bad filter selects nothing extra


def test_the_history_downloads_as_csv_and_xlsx_in_chinese(browser, client, make, app_context):
    engineer = make.user(email="eng@firm.example")
    sem = make.instrument(name="扫描电镜甲")
    _history(make, engineer, sem, 3, purpose="=HYPERLINK(\"http://evil.example\")")
    browser.login("eng@firm.example")
    response = client.get("/bookings/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["预约编号", "仪器", "单位"] and len(rows) == 4
    assert rows[1][7] == "已完成" and rows[1][9] == "300.00"
    assert rows[1][8].startswith("'=")  # a formula stays text
    workbook = load_workbook(io.BytesIO(client.get("/bookings/export.xlsx?status=completed").get_data()))
    sheet = workbook.active
    assert sheet.max_row == 4 and sheet.cell(1, 2).value == "仪器" and sheet.cell(2, 2).value == "扫描电镜甲"


def test_the_api_pages_through_everything_and_gives_files_with_codes(api, make, app_context):
    engineer = make.user()
    _history(make, engineer, make.instrument(), 130)
    caller = api.as_user(engineer)
    pages = [caller.get(f"/api/v1/bookings?per_page=100&page={n}").json for n in (1, 2)]
    assert pages[0]["total"] == 130 and len(pages[0]["items"]) + len(pages[1]["items"]) == 130
    coded = caller.get("/api/v1/bookings?format=csv&headers=codes&status=completed")
    rows = list(csv.reader(io.StringIO(coded.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["id", "instrument", "institution"] and rows[1][7] == "completed" and len(rows) == 131
    assert caller.get("/api/v1/bookings?format=pdf").status_code == 422


def test_a_manager_pages_own_bookings_and_the_api_exports_the_institutions(api, browser, client, make, app_context):
    manager = make.user("manager", email="mgr@inst.example")
    instrument = make.instrument(institution_id=manager.institution_id)
    _history(make, make.user(name="外部工程师"), instrument, 5)
    browser.login("mgr@inst.example")
    assert "共 0 条预约" in client.get("/bookings").get_data(as_text=True)
    exported = api.as_user(manager).get("/api/v1/bookings?format=csv")
    assert len(list(csv.reader(io.StringIO(exported.get_data().decode("utf-8-sig"))))) == 6


def test_a_busy_firms_page_shows_the_next_bookings_and_the_instruments_booked_lately(
        browser, client, make, app_context):
    """Found by `flask bench --only pages` at the demo's size: a firm of many
    engineers had hundreds of upcoming bookings on the page, each with its
    forms, and every instrument it ever booked (with their texts) in the
    filter. The page shows the next 20 (all are in the history) and the
    filter the 100 instruments booked most recently, plus the one chosen."""
    engineer = make.user(email="eng@firm.example")
    instruments = [make.instrument(name=f"仪器{n:03d}") for n in range(102)]
    for n, instrument in enumerate(instruments):  # the higher n, the longer ago
        _history(make, engineer, instrument, 1, days_back=10 + n)
    ahead = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
    for n in range(25):
        start = ahead + timedelta(hours=2 * n)
        db.session.add(Booking(instrument=instruments[0], user=engineer, firm_id=engineer.firm_id, start=start,
                               end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                               status="confirmed", purpose="x", cost=Decimal("1.00"), firm_pays=Decimal("1.00")))
    db.session.commit()
    browser.login("eng@firm.example")
    page = client.get("/bookings").get_data(as_text=True)
    upcoming = page.split('id="history"')[0]
    assert upcoming.count("data-confirm=") == 20 and 'id="more-upcoming"' in page
    listed = [i.name for i in instruments if f">{i.name}</option>" in page]
    assert listed == [i.name for i in instruments[:100]]
    chosen = client.get(f"/bookings?instrument={instruments[101].id}").get_data(as_text=True)
    assert ">仪器101</option>" in chosen and "共 1 条预约" in chosen
    other = make.instrument(name="别家的仪器")  # never booked by the firm: not offered
    assert ">别家的仪器</option>" not in client.get(f"/bookings?instrument={other.id}").get_data(as_text=True)


def test_the_page_merges_the_firms_bookings_with_the_bookers_own_for_no_firm_or_another(make, app_context):
    """Issue #19: the page reads the firm's bookings and the booker's own for
    no firm or another firm as two parts, each in its index's order, and
    merges them. Page by page, filtered or not, it shows exactly what the
    one query with `firm_id = ? OR user_id = ?` selects, in the same order
    (ties of start by id); a colleague sees the firm's bookings, not the
    booker's own elsewhere."""
    from instrument_share.booking import services

    engineer = make.user()
    colleague = make.user(firm=engineer.firm)
    other_firm = make.firm()
    sem, xrd, nmr = make.instrument(name="扫描电镜"), make.instrument(name="衍射仪"), make.instrument(name="核磁")
    hour = utcnow().replace(minute=0, second=0, microsecond=0)

    def booking(instrument, user, firm_id, start, status="completed", hours=1):
        db.session.add(Booking(instrument=instrument, user=user, firm_id=firm_id, start=start,
                               end=start + timedelta(hours=hours), occupied_until=start + timedelta(hours=hours),
                               status=status, purpose="x", cost=Decimal("1.00"), firm_pays=Decimal("1.00")))

    for n in range(12):  # the same hours on three instruments: ties of start
        start = hour - timedelta(days=2, hours=2 * n)
        booking(sem, engineer, engineer.firm_id, start)
        booking(xrd, colleague, engineer.firm_id, start, status="cancelled" if n % 3 else "completed")
        booking(nmr, engineer, None if n % 2 else other_firm.id, start)
    # Ahead: a week-long booking under way (started six days ago), and the
    # booker's own for no firm among the firm's.
    booking(nmr, engineer, None, hour - timedelta(days=6), status="confirmed", hours=7 * 24)
    for n in range(4):
        booking(sem, colleague, engineer.firm_id, hour + timedelta(days=1, hours=2 * n), status="confirmed")
        booking(xrd, engineer, None, hour + timedelta(days=1, hours=2 * n + 1), status="pending")
    db.session.commit()

    def one_query(user, page, **filters):
        return db.session.scalars(services.my_bookings_query(user, **filters).limit(5).offset((page - 1) * 5)).all()

    for user, total in ((engineer, 45), (colleague, 28)):
        for filters in ({}, {"status": "completed"}, {"instrument_id": nmr.id},
                        {"start": hour - timedelta(days=2, hours=7), "end": hour}):
            expected_total = services.count_of(services.my_bookings_query(user, **filters))
            for page in (1, 2, 7):
                rows, counted = services.history_page(user, page, 5, **filters)
                assert [b.id for b in rows] == [b.id for b in one_query(user, page, **filters)], (user, filters, page)
                assert counted == expected_total
        assert services.history_page(user, 1, 5)[1] == total
        upcoming = services.upcoming_bookings(user, utcnow(), most=3)
        everything = services.my_bookings_query(user).where(Booking.end > utcnow(), Booking.status.in_(("pending", "confirmed")))
        assert [b.id for b in upcoming] == [b.id for b in sorted(db.session.scalars(everything),
                                                                  key=lambda b: (b.start, b.id))[:3]]
    assert upcoming[0].instrument_id == sem.id  # the colleague's: the firm's, not the engineer's own
    assert services.upcoming_bookings(engineer, utcnow(), most=1)[0].instrument_id == nmr.id  # the week under way
    assert {i.name for i in services.booked_instruments(engineer)} == {"扫描电镜", "衍射仪", "核磁"}
    assert [i.name for i in services.booked_instruments(engineer, most=1)] == ["衍射仪"]  # the last one booked
    assert {i.name for i in services.booked_instruments(engineer, most=1, also=nmr.id)} == {"核磁", "衍射仪"}
    assert {i.name for i in services.booked_instruments(colleague, also=nmr.id)} == {"扫描电镜", "衍射仪"}
