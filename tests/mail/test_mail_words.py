"""Every mail the platform sends, and its PDFs, in the reader's language (issue #19).

The page walk (tests/test_page_walk.py) reads the pages; this reads the
mails. Each kind of mail is made through the service that sends it (the
booking API for booking events, the scheduler's jobs for reminders,
qualification warnings, overdue orders and the reports, the order API for
order events, the account services for account mails), delivered through a
real SMTP server, and its subject, plain text and the visible text of its
HTML are run through the page walk's checker (`Words.problems`: stored codes,
English on a Chinese mail, ungrouped money), in Chinese and in English. So
are a receipt's and a monthly statement's PDF text. Dates and times must be
Babel's (formats.py): no ISO day ("2026-12-01"), no hand-made "12-01 09:00";
figures grouped (1,277.3); and on a Chinese mail no bare "h" for hours.
"""
from __future__ import annotations

import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from instrument_share.accounts import mails as account_mails
from instrument_share.booking.models import Booking
from instrument_share.booking.usage import record_usage
from instrument_share.catalogue.models import Qualification
from instrument_share.extensions import db
from instrument_share.mail.models import OutboxMessage
from instrument_share.scheduler.jobs import JOBS
from instrument_share.timeutil import platform_today, to_platform, utcnow

from ..booking.conftest import iso
from ..conftest import Browser
from ..factories import ApiClient
from ..orders.test_orders import PDF, order_body
from ..test_page_walk import EMAIL_OR_URL, VisibleText, Words

LANGUAGES = ("zh_CN", "en")
# Every template under templates/mail/, by the outbox kinds that use it.
TEMPLATES = {
    "account_confirm": {"account_confirm"},
    "account_invitation": {"account_invitation"},
    "account_locked": {"account_locked"},
    "account_password_changed": {"account_password_changed"},
    "account_password_reset": {"account_password_reset"},
    "account_registration_attempt": {"account_registration"},
    "approval_needed": {"approval_needed"},
    "booking": {"requested", "approved", "rejected", "confirmed", "rescheduled", "cancelled"},
    "order_event": {"order_submitted", "order_quoted", "order_accepted", "order_received", "order_reported",
                    "order_closed", "order_declined", "order_lapsed"},
    "orders_overdue": {"orders_overdue"},
    "qualification_expiring": {"qualification_expiring"},
    "reminder": {"reminder"},
    "report_monthly": {"monthly-city-report", "monthly-corridor-report"},
    "report_weekly": {"weekly-institution-report"},
}
# Hand-made dates and times: an ISO day, "12-01 09:00", "2026-12"; and hours as "h" on a Chinese mail.
HAND_MADE = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b|\b\d{2}-\d{2} \d{2}:\d{2}\b")
BARE_HOURS = re.compile(r"\d h\b")
UNGROUPED = re.compile(r"(?<![\d,.])\d{4,}\.\d+")  # 1277.3 hours rather than 1,277.3


def _form_problems(text: str, language: str) -> list[str]:
    text = EMAIL_OR_URL.sub(" ", text)
    found = [f"hand-made date {hit!r}" for hit in HAND_MADE.findall(text)]
    found += [f"figure without separators {hit!r}" for hit in UNGROUPED.findall(text)]
    if language == "zh_CN":
        found += [f"hours as 'h' {hit!r}" for hit in BARE_HOURS.findall(text)]
    return found


def _problems(words: Words, texts: list[str], language: str) -> list[str]:
    return [f"{problem} in {text[:100]!r}" for text in texts
            for problem in words.problems(text, language) + _form_problems(text, language)]


def _mail_texts(message) -> list[str]:
    texts = [" ".join(str(message["Subject"]).split())]
    for part in message.walk():
        if part.get_content_type() == "text/plain" and not part.get_filename():
            texts += [line.strip() for line in part.get_content().splitlines() if line.strip()]
        elif part.get_content_type() == "text/html":
            parser = VisibleText()
            parser.feed(part.get_content())
            texts += parser.texts
    return texts


def _pdf_texts(data: bytes) -> list[str]:
    # As the page walk reads them: pypdf gives the CJK font's two-byte codes with a NUL before each character.
    return [line for page in PdfReader(io.BytesIO(data)).pages
            for line in page.extract_text().replace("\x00", "").splitlines() if line.strip()]


@pytest.fixture
def region(mail_app, make, request):
    """An institution with a manager, a 24-hour SEM, a TEM that needs approval
    and an XRD; a firm's engineer qualified on the SEM until next week; the
    city's bureau and the corridor's admin: everyone in `language`."""
    language = request.param
    manager = make.user("manager", email="mgr@inst.example", name="张老师", language=language)
    institution_id = manager.institution_id
    sem = make.instrument(institution_id=institution_id, name="场发射扫描电子显微镜", model="JSM-IT800",
                          hourly_rate=Decimal("300.00"), advance_notice_hours=0,
                          hours=[(d, 0, 1440) for d in range(7)], open_on_holidays=True)
    tem = make.instrument(institution_id=institution_id, name="透射电子显微镜", requires_approval=True)
    xrd = make.instrument(institution_id=institution_id, name="X射线衍射仪")
    engineer = make.user(email="eng@firm.example", name="陈工", language=language)
    make.user(role="city_admin", city_code=manager.institution.city_code, name="李科长", language=language)
    make.user(role="admin", email="office@g60.example", name="联席办", language=language)
    db.session.add(Qualification(instrument_id=sem.id, user_id=engineer.id, granted_on=platform_today(),
                                 expires_on=platform_today() + timedelta(days=7)))
    db.session.commit()
    api = ApiClient(mail_app.test_client(), mail_app)
    return {"language": language, "manager": manager, "engineer": engineer, "sem": sem, "tem": tem, "xrd": xrd,
            "firm": api.as_user(engineer), "lab": api.as_user(manager)}


def _booking_mails(region, day) -> dict:
    """Requested, approved, rejected, made, moved, cancelled; a reminder; a completed booking."""
    firm, lab, sem, tem = region["firm"], region["lab"], region["sem"], region["tem"]

    def book(instrument, start, end):
        answer = firm.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": start, "end": end,
                                                     "purpose": "断口形貌"})
        assert answer.status_code == 201, answer.json
        return answer.json

    first, second = book(tem, iso(day, "10:00"), iso(day, "11:00")), book(tem, iso(day, "13:00"), iso(day, "14:00"))
    assert lab.post(f"/api/v1/bookings/{first['id']}/approve").status_code == 200
    assert lab.post(f"/api/v1/bookings/{second['id']}/reject", json={"reason": "样品不符合要求"}).status_code == 200
    moved = book(sem, iso(day, "10:00"), iso(day, "12:00"))
    assert firm.patch(f"/api/v1/bookings/{moved['id']}", json={"start": iso(day, "13:00"),
                                                                "end": iso(day, "15:30")}).status_code == 200
    assert firm.post(f"/api/v1/bookings/{moved['id']}/cancel", json={"reason": "计划变更"}).status_code == 200

    soon = utcnow().replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    used = book(sem, soon.isoformat(), (soon + timedelta(hours=3)).isoformat())
    reminded = book(sem, (soon + timedelta(hours=5)).isoformat(), (soon + timedelta(hours=6)).isoformat())
    assert JOBS["remind"].function(utcnow()) >= 1
    booking = db.session.get(Booking, used["id"])
    record_usage(booking, region["manager"], booking.start, booking.end, "guided",
                 now=booking.end + timedelta(minutes=5))
    db.session.commit()
    return {"completed": booking, "reminded": reminded}


def _order_mails(region) -> None:
    """An order from submission to its rating; one declined; one overdue; one whose quote lapses."""
    firm, lab = region["firm"], region["lab"]

    def order():
        made = firm.post("/api/v1/orders", json=order_body(region["xrd"]))
        assert made.status_code == 201, made.json
        return f"/api/v1/orders/{made.json['id']}"

    done, declined, overdue, lapsing = order(), order(), order(), order()
    for url in (done, overdue):
        assert lab.post(f"{url}/quote", json={"amount": "1200", "turnaround_days": 5}).status_code == 200
        assert firm.post(f"{url}/accept").status_code == 200
        assert lab.post(f"{url}/receive").status_code == 200
    report = lab.client.post(f"{done}/report?machine_minutes=90", headers=lab._headers(),
                             data={"file": (io.BytesIO(PDF), "报告.pdf")})
    assert report.status_code == 200, report.json
    assert firm.post(f"{done}/rate", json={"rating": 5, "comment": "很快"}).status_code == 200
    assert lab.post(f"{declined}/decline", json={"reason": "样品含放射性，本实验室无资质"}).status_code == 200
    assert lab.post(f"{lapsing}/quote", json={"amount": "500", "turnaround_days": 2}).status_code == 200
    later = utcnow() + timedelta(days=30)
    assert JOBS["close-orders"].function(later) == 1
    assert JOBS["mail-overdue-orders"].function(later) >= 1


def _account_mails(region) -> None:
    """The account mails, each from the service that sends it; an invitation through the API."""
    engineer, now = region["engineer"], utcnow()
    account_mails.confirm_address(engineer, "https://g60.example/verify/abc", now)
    account_mails.registration_attempted(engineer, now)
    account_mails.account_locked(engineer, 5, now + timedelta(minutes=15), now)
    account_mails.password_reset(engineer, "https://g60.example/password-reset/abc", now)
    account_mails.password_changed(engineer, now)
    db.session.commit()
    invited = region["firm"].post("/api/v1/firm/invitations", json={"email": "new@firm.example"})
    assert invited.status_code == 201, invited.json


@pytest.mark.parametrize("region", LANGUAGES, indirect=True)
def test_every_mail_and_pdf_reads_in_the_readers_language(mail_app, smtp, deliver, region, day, app_context):
    language = region["language"]
    booked = _booking_mails(region, day)
    _order_mails(region)
    _account_mails(region)
    assert JOBS["warn-expiring-qualifications"].function(utcnow()) == 1
    now = utcnow()
    for job in ("weekly-institution-report", "monthly-city-report", "monthly-corridor-report"):
        assert JOBS[job].function(now) >= 1, job

    db.session.expire_all()
    queued = db.session.execute(sa.select(OutboxMessage.message_id, OutboxMessage.kind, OutboxMessage.subject)).all()
    kind_of = {message_id: kind for message_id, kind, _subject in queued}
    missing = {template: wanted - set(kind_of.values()) for template, wanted in TEMPLATES.items()
               if wanted - set(kind_of.values())}
    assert not missing, f"mails not made: {missing} of {sorted(set(kind_of.values()))}"
    report = deliver()
    assert report.failed == 0 and report.sent == len(queued) == len(smtp.messages)

    # The checker's stored data (names, models) stays out of the check; the mails' own subjects do not.
    words = Words(mail_app)
    words.data -= {subject for _id, _kind, subject in queued}
    failures = []
    for message in smtp.messages:
        failures += [f"{message['Subject']}: {problem}" for problem in _problems(words, _mail_texts(message), language)]

    # The receipt (API) and the monthly statement (page), as the engineer downloads them.
    receipt = region["firm"].get(f"/api/v1/bookings/{booked['completed'].id}/receipt.pdf")
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf"
    client = mail_app.test_client()
    Browser(client).login("eng@firm.example")
    month = to_platform(booked["completed"].start).strftime("%Y-%m")  # the URL's month, not text
    statement = client.get(f"/statements/{month}.pdf")
    assert statement.status_code == 200 and statement.mimetype == "application/pdf"
    for name, pdf in (("receipt", receipt.data), ("statement", statement.data)):
        failures += [f"{name}: {problem}" for problem in _problems(words, _pdf_texts(pdf), language)]
    assert not failures, f"{len(failures)} problems in {language} mails and PDFs:\n" + "\n".join(failures)

    # The forms chosen (formats.py), in the mails as on the pages.
    reminder = next(m for m in smtp.messages if kind_of[m["Message-ID"]] == "reminder")
    text = " ".join(_mail_texts(reminder))
    expected = {"zh_CN": "年", "en": ", 20"}[language]  # 2026年12月1日周二 09:00–10:00 / Tue, Dec 1, 2026, 09:00–10:00
    assert expected in text and "–" in text
    statement_text = " ".join(_pdf_texts(statement.data))
    first = date.fromisoformat(f"{month}-01")
    assert {"zh_CN": f"{first.year}年{first.month}月", "en": f"{first:%b} {first.year}"}[language] in statement_text
