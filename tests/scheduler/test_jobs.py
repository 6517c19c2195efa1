"""The scheduler's jobs, run for chosen moments."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.scheduler.jobs import JOBS
from instrument_share.scheduler.reports import last_month, last_week, parse_period

NOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 7 December, 09:00 in Shanghai


def _booking(make, start, status="confirmed", **kw):
    booking = Booking(instrument=kw.pop("instrument", None) or make.instrument(), user=kw.pop("user", None) or make.user(),
                      start=start, end=start + timedelta(hours=1), occupied_until=start + timedelta(hours=1),
                      status=status, purpose="x", cost=Decimal("100.00"), firm_pays=Decimal("100.00"), **kw)
    db.session.add(booking)
    db.session.commit()
    return booking


def _mails(kind):
    db.session.expire_all()
    return db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind == kind)).all()


@pytest.mark.parametrize(
    ("starts_in", "status", "reminded"),
    [
        (timedelta(hours=23), "confirmed", True),
        (timedelta(hours=24), "confirmed", True),  # the window's far edge is inside
        (timedelta(hours=24, minutes=1), "confirmed", False),
        (timedelta(minutes=5), "confirmed", True),  # a scheduler that was down still reminds
        (timedelta(minutes=-5), "confirmed", False),  # already started
        (timedelta(hours=5), "cancelled", False),
        (timedelta(hours=5), "pending", False),
    ],
)
def test_reminder_window(make, app_context, starts_in, status, reminded):
    booking = _booking(make, NOW + starts_in, status)
    JOBS["remind"].function(NOW)
    JOBS["remind"].function(NOW)  # never twice
    mails = _mails("reminder")
    assert len(mails) == (1 if reminded else 0)
    if reminded:
        assert mails[0].recipient == booking.user.email and "提醒" in mails[0].subject


def test_close_bookings_job(make, app_context):
    booking = _booking(make, NOW - timedelta(hours=3))
    assert JOBS["close-bookings"].function(NOW)["no_show"] == 1
    db.session.refresh(booking)
    assert booking.status == "no_show"


def test_report_periods(app_context):
    assert (str(last_week(NOW).first), str(last_week(NOW).last)) == ("2026-11-30", "2026-12-06")
    assert (str(last_month(NOW).first), str(last_month(NOW).last)) == ("2026-11-01", "2026-11-30")
    assert str(parse_period("2026-W44").first) == "2026-10-26"
    assert str(parse_period("2026-02").last) == "2026-02-28"


def test_weekly_report_once_per_recipient(make, app_context):
    manager = make.user(role="manager", email="mgr@uni.example")
    instrument = make.instrument(institution_id=manager.institution_id, name="扫描电镜")
    _booking(make, datetime(2026, 12, 1, 2, 0, tzinfo=UTC), "completed", instrument=instrument)
    make.user(role="manager", email="mgr2@uni.example", institution_id=manager.institution_id, language="en")
    assert JOBS["weekly-institution-report"].function(NOW) == 2
    assert JOBS["weekly-institution-report"].function(NOW + timedelta(hours=3)) == 0  # a restart, a second scheduler
    mails = {m.recipient: m for m in _mails("weekly-institution-report")}
    assert set(mails) == {"mgr@uni.example", "mgr2@uni.example"}
    chinese = mails["mgr@uni.example"]
    assert "周报" in chinese.subject
    from email import message_from_string, policy

    message = message_from_string(chinese.raw, policy=policy.default)
    text = message.get_body(("plain",)).get_content()
    assert "扫描电镜" in text and "今年已用 1.0 小时" in text  # booked hours of the one booking, as figures read
    attachment = next(message.iter_attachments())
    content = attachment.get_content()
    csv_text = content.decode("utf-8-sig") if isinstance(content, bytes) else content.lstrip("\ufeff")
    assert attachment.get_filename().endswith(".csv") and "扫描电镜" in csv_text
    assert mails["mgr2@uni.example"].subject.startswith("Weekly report")


def test_monthly_reports(make, app_context):
    make.user(role="city_admin", city_code="hangzhou", email="bureau@hz.example")
    make.user(role="admin", email="office@g60.example")
    _booking(make, datetime(2026, 11, 10, 2, 0, tzinfo=UTC), "completed")
    assert JOBS["monthly-city-report"].function(NOW) == 1
    assert JOBS["monthly-corridor-report"].function(NOW) == 1
    assert JOBS["monthly-city-report"].function(NOW) == 0
    [corridor] = _mails("monthly-corridor-report")
    assert corridor.recipient == "office@g60.example" and "2026年11月" in corridor.subject


def test_jobs_cli(runner, make, app_context):
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0 and "weekly-institution-report" in listing.output
    make.user(role="admin")
    result = runner.invoke(args=["jobs", "run", "monthly-corridor-report", "--period", "2026-10"])
    assert result.exit_code == 0, result.output
    assert "2026年10月" in _mails("monthly-corridor-report")[0].subject
    assert runner.invoke(args=["jobs", "run", "nothing"]).exit_code != 0
    assert runner.invoke(args=["jobs", "run", "remind", "--now", "yesterday"]).exit_code != 0


@pytest.mark.parametrize(
    ("job", "now", "missed"),
    [
        ("weekly-institution-report", datetime(2026, 12, 8, 2, 0, tzinfo=UTC), True),  # Tuesday: Monday's run within grace
        ("weekly-institution-report", datetime(2026, 12, 7, 0, 0, tzinfo=UTC), True),  # Monday 08:00 in Shanghai
        ("weekly-institution-report", datetime(2026, 12, 6, 22, 30, tzinfo=UTC), False),  # Monday 06:30: the last run is 7 days old
        ("monthly-city-report", datetime(2026, 12, 15, 2, 0, tzinfo=UTC), True),
        ("monthly-city-report", datetime(2026, 12, 25, 2, 0, tzinfo=UTC), False),  # beyond 20 days
        ("remind", datetime(2026, 12, 15, 2, 0, tzinfo=UTC), False),  # interval jobs just run
    ],
)
def test_missed_reports_run_at_start_within_grace(job, now, missed):
    from zoneinfo import ZoneInfo

    from instrument_share.scheduler.runner import missed_within_grace

    assert missed_within_grace(JOBS[job], ZoneInfo("Asia/Shanghai"), now) is missed


def test_qualifications_ending_within_two_weeks_are_warned_once_per_expiry(app, make, app_context):
    from datetime import date

    from instrument_share.catalogue.models import Qualification

    instrument = make.instrument(self_service=True, name="透射电子显微镜", contact_name="李老师")
    people = {name: make.user(email=f"{name}@firm.example") for name in ("soon", "edge", "later", "past", "open")}
    ends = {"soon": date(2026, 12, 10), "edge": date(2026, 12, 21), "later": date(2026, 12, 22),
            "past": date(2026, 12, 6), "open": None}
    for name, user in people.items():
        db.session.add(Qualification(instrument=instrument, user_id=user.id, granted_on=date(2026, 1, 5),
                                     expires_on=ends[name]))
    db.session.commit()
    run = JOBS["warn-expiring-qualifications"].function

    assert run(NOW) == 2  # Monday 7 December: ends on the 10th and on the 21st (14 days ahead)
    mails = _mails("qualification_expiring")
    assert sorted(m.recipient for m in mails) == ["edge@firm.example", "soon@firm.example"]
    soon = next(m for m in mails if m.recipient == "soon@firm.example")
    assert "透射电子显微镜" in soon.subject and "2026年12月10日" in soon.subject
    assert run(NOW + timedelta(hours=1)) == 0  # once
    renewed = db.session.scalar(sa.select(Qualification).where(Qualification.user_id == people["soon"].id))
    renewed.expires_on = date(2026, 12, 31)
    db.session.commit()
    assert run(NOW) == 0  # the new expiry is more than 14 days away
    # In an app context of its own, as the scheduler runs it (SQLite's write
    # guard on, which the fixture's session is without): "later" (the 22nd);
    # "edge" was told already.
    with app.app_context():
        assert run(NOW + timedelta(days=8)) == 1
    assert len(_mails("qualification_expiring")) == 3
    assert run(NOW + timedelta(days=17)) == 1  # the renewed one, before its new expiry
    assert len(_mails("qualification_expiring")) == 4
