"""Invites through a real SMTP server: MIME layout, iTIP methods, UID and SEQUENCE."""
from __future__ import annotations

import icalendar
import sqlalchemy as sa
from ical.calendar_stream import IcsCalendarStream

from instrument_share.mail.models import OutboxMessage

from ..booking.conftest import iso
from ..factories import ApiClient


def _parts(message):
    return [part.get_content_type() for part in message.walk()]


def _calendar_part(message):
    return next(p for p in message.walk() if p.get_content_type() == "text/calendar")


def _event(message):
    part = _calendar_part(message)
    text = part.get_content()
    calendar = icalendar.Calendar.from_ical(text)
    # A second, independent parser must read the same event.
    other = IcsCalendarStream.calendar_from_ics(text)
    event = next(iter(calendar.walk("VEVENT")))
    assert other.events[0].uid == str(event["uid"])
    assert other.events[0].sequence == int(event["sequence"])
    return calendar, event, part


def test_create_reschedule_cancel_invites(mail_app, smtp, deliver, make, day):
    booker = make.user(email="li@firm.example", name="李工")
    instrument = make.instrument(name="场发射扫描电子显微镜", contact_email="sem@zju.example",
                                 contact_name="王老师", location="分析测试中心 112室")
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    booking = client.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "涂层截面"}).json
    client.patch(f"/api/v1/bookings/{booking['id']}", json={"start": iso(day, "13:00"), "end": iso(day, "14:00")})
    client.post(f"/api/v1/bookings/{booking['id']}/cancel", json={"reason": "计划变更"})
    report = deliver()
    assert (report.sent, report.failed) == (3, 0)
    assert len(smtp.messages) == 3

    created, moved, cancelled = smtp.messages
    for message in smtp.messages:
        assert message["To"] == "li@firm.example"
        assert message.get_content_type() == "multipart/mixed"
        assert _parts(message)[:5] == ["multipart/mixed", "multipart/alternative", "text/plain",
                                       "text/html", "text/calendar"]
        attachment = [p for p in message.iter_attachments()][0]
        assert attachment.get_filename() == "invite.ics"
        assert message["Message-ID"]
    assert "预约确认" in created["Subject"] and "场发射扫描电子显微镜" in created["Subject"]

    uids, sequences = set(), []
    for message, method in ((created, "REQUEST"), (moved, "REQUEST"), (cancelled, "CANCEL")):
        calendar, event, part = _event(message)
        assert part.get_param("method") == method and part.get_content_charset() == "utf-8"
        assert calendar["method"] == method
        uids.add(str(event["uid"]))
        sequences.append(int(event["sequence"]))
        assert str(event["organizer"]) == "mailto:noreply@g60.example"
        attendees = [str(a) for a in (event["attendee"] if isinstance(event["attendee"], list) else [event["attendee"]])]
        assert "mailto:li@firm.example" in attendees and "mailto:sem@zju.example" in attendees
        assert "涂层截面" in str(event["description"]) and "王老师" in str(event["description"])
    assert uids == {f"booking-{booking['id']}@g60.example"}
    assert sequences == [0, 1, 2]
    _, moved_event, _ = _event(moved)
    assert moved_event.decoded("dtstart").isoformat().startswith(f"{day}T05:00:00")  # 13:00 Shanghai in UTC
    _, cancelled_event, _ = _event(cancelled)
    assert str(cancelled_event["status"]) == "CANCELLED"
    # The download is the same event as the last invite.
    ics = client.get(f"/api/v1/bookings/{booking['id']}/ics").data
    downloaded = next(iter(icalendar.Calendar.from_ical(ics).walk("VEVENT")))
    assert str(downloaded["uid"]) in uids and int(downloaded["sequence"]) == 2
    assert "method" not in icalendar.Calendar.from_ical(ics)


def test_pending_gets_a_plain_note_then_the_invite_on_approval(mail_app, smtp, deliver, make, day):
    manager = make.user(role="manager", email="mgr@uni.example", language="en")
    instrument = make.instrument(institution_id=manager.institution_id, requires_approval=True,
                                 name="透射电镜", name_en="TEM")
    booker = make.user(email="li@firm.example")
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    booking = client.post("/api/v1/bookings", json={
        "instrument_id": instrument.id, "start": iso(day, "10:00"), "end": iso(day, "11:00"),
        "purpose": "TEM"}).json
    deliver()
    by_recipient = {m["To"]: m for m in smtp.messages}
    assert "text/calendar" not in _parts(by_recipient["li@firm.example"])
    assert "预约申请已提交" in by_recipient["li@firm.example"]["Subject"]
    assert by_recipient["mgr@uni.example"]["Subject"] == "Approval needed: TEM"  # the manager reads English
    ApiClient(mail_app.test_client(), mail_app).as_user(manager).post(f"/api/v1/bookings/{booking['id']}/approve")
    deliver()
    approved = smtp.messages[-1]
    assert approved["To"] == "li@firm.example"
    _, event, part = _event(approved)
    assert part.get_param("method") == "REQUEST" and int(event["sequence"]) == 1


def test_rolled_back_change_sends_nothing(mail_app, smtp, deliver, make, day, app_context):
    from instrument_share.booking.services import create_booking
    from instrument_share.extensions import db

    booker = make.user()
    instrument = make.instrument()
    from ..booking.conftest import at

    create_booking(booker, instrument.id, at(day, "10:00"), at(day, "11:00"), "x")
    db.session.rollback()
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    ok = client.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:00"),
                                               "end": iso(day, "11:00"), "purpose": "x"})
    refused = client.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:30"),
                                                    "end": iso(day, "11:30"), "purpose": "x"})
    assert (ok.status_code, refused.status_code) == (201, 409)
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1
    deliver()
    assert len(smtp.messages) == 1


def test_the_same_change_is_queued_once(make, day, app_context):
    from instrument_share.booking.services import create_booking
    from instrument_share.extensions import db
    from instrument_share.invites.notify import bookings_changed

    from ..booking.conftest import at

    [booking] = create_booking(make.user(), make.instrument().id, at(day, "10:00"), at(day, "11:00"), "x")
    bookings_changed([booking], "confirmed")
    bookings_changed([booking], "confirmed")
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(OutboxMessage.id))) == 1


def test_english_recipient_gets_english_invite(mail_app, smtp, deliver, make, day):
    booker = make.user(email="ann@firm.example", language="en")
    instrument = make.instrument(name="X射线衍射仪", name_en="X-ray diffractometer")
    client = ApiClient(mail_app.test_client(), mail_app).as_user(booker)
    client.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:00"),
                                          "end": iso(day, "11:00"), "purpose": "XRD"})
    deliver()
    message = smtp.messages[0]
    assert message["Subject"] == "Booking confirmed: X-ray diffractometer"
    _, event, _ = _event(message)
    assert str(event["summary"]).startswith("X-ray diffractometer")
    assert "Purpose: XRD" in str(event["description"])
