"""Calendars and mail never fail on what is stored (issue #13, finding 6).

Rows written before the text rules may hold anything the database takes: a
contact e-mail with a line break, control characters in names. Such text is
written here straight into the database, past the door, and the booking's
.ics, the booker's feed, the instrument's feed and the booking's mails must
all still come out valid, read by two independent iCalendar parsers.
"""
from __future__ import annotations

import icalendar
import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream

from instrument_share.accounts.feed_tokens import feed_url
from instrument_share.accounts.models import Institution, User
from instrument_share.booking.models import Booking
from instrument_share.catalogue.models import Instrument
from instrument_share.database import begin_write_transaction
from instrument_share.extensions import db

from ..booking.conftest import iso
from ..factories import ApiClient


def _write(entity, row_id: int, **values) -> None:
    """Past the door: straight into the table."""
    begin_write_transaction()
    db.session.execute(sa.update(entity).where(entity.id == row_id).values(**values))
    db.session.commit()


def _nul(text: str) -> str:
    """NUL where the engine stores it (SQLite); PostgreSQL refuses NUL in text."""
    return text if db.engine.dialect.name == "sqlite" else text.replace("\x00", "\x01")


def _both_parsers(ics: str | bytes) -> list:
    text = ics.decode("utf-8") if isinstance(ics, bytes) else ics
    calendar = icalendar.Calendar.from_ical(text)
    other = IcsCalendarStream.calendar_from_ics(text)
    events = list(calendar.walk("VEVENT"))
    assert len(other.events) == len(events)
    for line in text.split("\r\n"):
        assert not any(ord(ch) < 32 and ch != "\t" for ch in line), repr(line)
    return events


def test_bad_stored_text_gives_valid_calendars_and_mail(mail_app, smtp, deliver, make, day):
    booker = make.user(email="li@firm.example")
    instrument = make.instrument()
    _write(Instrument, instrument.id,
           name=_nul("场发射\x1b[31m电镜\r\n第二行\u2028\x00"), name_en="SEM\nline two\x7f",
           contact_email="sem@zju.example\r\nBcc: all@evil.example", contact_name='王 "老师"\n\x07',
           contact_phone="0571\r\n8795", location=_nul("A楼\x0b112\x00室"), manufacturer="Zeiss\x85",
           model="Sigma\t300")
    _write(Institution, instrument.institution_id, name="浙江大学\n分析测试中心\x1b")
    _write(User, booker.id, name="李\r\n工\x01")

    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    response = client.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "涂层截面"})
    assert response.status_code == 201, response.get_json()
    booking_id = response.get_json()["id"]
    _write(Booking, booking_id, purpose=_nul("涂层\x00截面\x0c\r\n第二段\x1b"))

    ics = client.get(f"/api/v1/bookings/{booking_id}/ics")
    assert ics.status_code == 200
    [event] = _both_parsers(ics.data)
    assert "Bcc" not in str(event.get("attendee"))
    assert "涂层 截面" in str(event["description"]) or "涂层截面" in str(event["description"])

    with mail_app.app_context():
        path = "/" + feed_url(db.session.get(User, booker.id)).split("://", 1)[1].split("/", 1)[1]
    feed = client.client.get(path)
    assert feed.status_code == 200
    assert len(_both_parsers(feed.data)) == 1
    busy = client.client.get(f"/feeds/instruments/{instrument.id}.ics")
    assert busy.status_code == 200
    assert len(_both_parsers(busy.data)) == 1

    # The confirmation was queued with the bad name in its subject; the
    # cancellation carries the bad purpose in its snapshot.
    assert client.post(f"/api/v1/bookings/{booking_id}/cancel", json={"reason": "计划变更"}).status_code == 200
    report = deliver()
    assert (report.sent, report.failed, report.dead) == (2, 0, 0), report
    assert len(smtp.messages) == 2
    for message in smtp.messages:
        assert message["To"] == "li@firm.example"
        assert "\n" not in message["Subject"] and "场发射" in message["Subject"]
        for part in message.walk():
            if part.get_content_type() == "text/calendar":
                _both_parsers(part.get_content())
            elif part.get_content_type() in ("text/plain", "text/html"):
                assert "\x00" not in part.get_content() and "\x1b" not in part.get_content()
