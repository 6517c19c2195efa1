"""Members of firms and institutions (API.md "Firm colleagues"; issues #16
and #17): the first member administers the organisation, invites colleagues
by mail, sees the members and deactivates them; the invited colleague joins
with a name and a password. Every refusal changes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from instrument_share.accounts.models import Invitation, User
from instrument_share.booking.models import Booking
from instrument_share.extensions import db
from instrument_share.mail.delivery import deliver_due
from instrument_share.timeutil import utcnow

from ..booking.conftest import iso, workday
from ..conftest import Browser, csrf_token_from, fixture_context
from ..factories import PASSWORD
from .conftest import body_text, outbox

JOIN_LINK = re.compile(r"https?://\S+(/join/[A-Za-z0-9_\-]+)")
NEW = "violet-anvil-42"


def _join_path(text: str) -> str:
    match = JOIN_LINK.search(text)
    assert match, text
    return match.group(1)


def _user(app, email):
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge_all()
        return user


def _join(client, path, name="新同事", password=NEW, confirm=None):
    page = client.get(path)
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    return client.post(path, data={"name": name, "password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token_from(page.get_data(as_text=True))})


def test_the_first_user_of_a_firm_administers_it(app, make, api):
    founder = make.user(email="founder@firm.example")
    colleague = make.user(email="second@firm.example", firm=founder.firm)
    manager = make.user("manager", email="m1@inst.example")
    second_manager = make.user("manager", email="m2@inst.example", institution_id=manager.institution_id)
    me = {u.email: api.as_user(u).get("/api/v1/me").get_json() for u in (founder, colleague, manager, second_manager)}
    assert me["founder@firm.example"]["firm_admin"] is True
    assert me["second@firm.example"]["firm_admin"] is False
    assert me["m1@inst.example"]["institution_admin"] is True and me["m1@inst.example"]["firm_admin"] is False
    assert me["m2@inst.example"]["institution_admin"] is False


def test_an_invited_colleague_joins_the_firm_from_the_mail(app, make, api, client):
    founder = make.user(email="founder@firm.example", name="王工")
    admin = api.as_user(founder)
    answer = admin.post("/api/v1/firm/invitations", json={"email": "New.Colleague@Firm.example"})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["email"] == "new.colleague@firm.example"
    ((recipient, subject, text),) = outbox(app, "account_invitation")
    assert recipient == "new.colleague@firm.example"
    assert "王工" in subject and founder.firm.name in subject and "7 天内" in text
    path = _join_path(text)

    page = client.get(path)
    assert founder.firm.name in page.get_data(as_text=True)
    weak = _join(client, path, password="1234567890")
    assert weak.status_code == 200 and _user(app, "new.colleague@firm.example") is None
    joined = _join(client, path, name="李工")
    assert joined.status_code == 302
    assert client.get("/profile").status_code == 200  # signed in
    member = _user(app, "new.colleague@firm.example")
    assert (member.role, member.firm_id, member.name, member.org_admin) == ("firm", founder.firm_id, "李工", False)
    assert member.email_verified_at is not None  # the link proved the address: the colleague may book
    assert client.get(path).status_code == 400  # the link is used up

    listed = admin.get("/api/v1/firm/members").get_json()
    assert [(m["email"], m["firm_admin"], m["active"]) for m in listed["items"]] == [
        ("new.colleague@firm.example", False, True), ("founder@firm.example", True, True)]
    assert listed["total"] == 2


def test_the_invitation_arrives_by_smtp(app, make_app, make, smtp):
    founder = make.user(email="founder@firm.example")
    mail_app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, PLATFORM_URL="https://g60.example")
    client = mail_app.test_client()
    Browser(client).login("founder@firm.example", PASSWORD)
    page = Browser(client).submit("/firm/members", {"email": "colleague@firm.example"})
    assert page.status_code == 302
    with mail_app.app_context():
        deliver_due()
    (message,) = smtp.messages
    assert message["To"] == "colleague@firm.example"
    text = body_text(message)
    assert "https://g60.example/join/" in text and founder.firm.name in text
    newcomer = mail_app.test_client()
    assert _join(newcomer, _join_path(text)).status_code == 302
    assert "colleague@firm.example" in client.get("/firm/members").get_data(as_text=True)


def test_only_the_administrator_invites_lists_and_deactivates(app, make, api):
    founder = make.user(email="founder@firm.example")
    colleague = make.user(email="second@firm.example", firm=founder.firm)
    manager = make.user("manager")
    for caller in (api.as_user(colleague), api.as_user(manager)):
        assert caller.post("/api/v1/firm/invitations", json={"email": "x@firm.example"}).status_code == 403
        assert caller.get("/api/v1/firm/members").status_code == 403
        assert caller.delete(f"/api/v1/firm/members/{founder.id}").status_code == 403
    assert api.get("/api/v1/firm/members").status_code == 401
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation)) == 0
        assert db.session.get(User, founder.id).active
        db.session.remove()


def test_a_deactivated_member_cannot_sign_in_and_their_bookings_stay(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    colleague = make.user(email="second@firm.example", firm=founder.firm)
    instrument = make.instrument()
    caller = api.as_user(colleague)
    day = workday(3)
    booked = caller.post("/api/v1/bookings", json={"instrument_id": instrument.id, "start": iso(day, "10:00"),
                                                   "end": iso(day, "11:00"), "purpose": "EDS"})
    assert booked.status_code == 201
    admin = api.as_user(founder)
    assert admin.delete(f"/api/v1/firm/members/{founder.id}").status_code == 409  # never oneself
    assert admin.delete(f"/api/v1/firm/members/{colleague.id}").status_code == 204
    assert _user(app, "second@firm.example").deactivated_by_id == founder.id  # who did it, for the record
    assert caller.get("/api/v1/me").status_code == 401
    assert client.post("/api/v1/tokens", json={"email": "second@firm.example", "password": PASSWORD}).status_code == 401
    with app.app_context():
        booking = db.session.get(Booking, booked.get_json()["id"])
        assert booking.user.name == colleague.name
        db.session.remove()
    listed = admin.get("/api/v1/firm/members").get_json()["items"]
    assert [(m["email"], m["active"]) for m in listed] == [("founder@firm.example", True),
                                                          ("second@firm.example", False)]


def test_another_firms_member_is_not_found(app, make, api):
    founder = make.user(email="founder@firm.example")
    stranger = make.user(email="stranger@other.example")
    manager = make.user("manager")
    admin = api.as_user(founder)
    assert admin.delete(f"/api/v1/firm/members/{stranger.id}").status_code == 404
    assert admin.delete(f"/api/v1/firm/members/{manager.id}").status_code == 404
    assert admin.delete("/api/v1/firm/members/999999").status_code == 404
    assert _user(app, "stranger@other.example").active and _user(app, manager.email).active


def test_an_address_with_an_account_learns_it_on_the_join_page_and_nothing_changes(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    make.user(email="taken@other.example", name="别家")
    # The inviter is not told (an invitation would otherwise probe who is registered).
    assert api.as_user(founder).post("/api/v1/firm/invitations", json={"email": "taken@other.example"}).status_code == 201
    ((_to, _subject, text),) = outbox(app, "account_invitation")
    refused = _join(client, _join_path(text))
    assert refused.status_code == 200 and "已在平台注册" in refused.get_data(as_text=True)
    taken = _user(app, "taken@other.example")
    assert (taken.firm_id, taken.name) != (founder.firm_id, "新同事")
    with app.app_context():
        assert db.session.scalar(sa.select(Invitation.accepted_at)) is None
        db.session.remove()


def test_a_member_invited_again_is_one_already_or_comes_back(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    colleague = make.user(email="second@firm.example", firm=founder.firm)
    admin = api.as_user(founder)
    again = admin.post("/api/v1/firm/invitations", json={"email": "second@firm.example"})
    assert again.status_code == 422 and list(again.get_json()["fields"]) == ["email"]
    admin.delete(f"/api/v1/firm/members/{colleague.id}")
    assert admin.post("/api/v1/firm/invitations", json={"email": "second@firm.example"}).status_code == 201
    ((_to, _subject, text),) = outbox(app, "account_invitation")
    assert _join(client, _join_path(text), name="回来了").status_code == 302
    back = _user(app, "second@firm.example")
    assert (back.id, back.active, back.name, back.deactivated_at) == (colleague.id, True, "回来了", None)
    assert back.check_password(NEW)


def _age_invitations(app, minutes: int) -> None:
    with fixture_context(app):
        for invitation in db.session.scalars(sa.select(Invitation)):
            invitation.created_at -= timedelta(minutes=minutes)
        db.session.commit()
        db.session.remove()


def test_an_address_is_mailed_again_only_after_ten_minutes_and_the_old_link_dies(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    admin = api.as_user(founder)
    first = admin.post("/api/v1/firm/invitations", json={"email": "c@firm.example"}).get_json()
    again = admin.post("/api/v1/firm/invitations", json={"email": "c@firm.example"}).get_json()
    assert again["id"] == first["id"] and len(outbox(app, "account_invitation")) == 1  # no flooding
    _age_invitations(app, 11)
    admin.post("/api/v1/firm/invitations", json={"email": "c@firm.example"})
    old, new = (_join_path(text) for _to, _s, text in outbox(app, "account_invitation"))
    assert client.get(old).status_code == 400
    assert client.get(new).status_code == 200
    assert [i["email"] for i in admin.get("/api/v1/firm/invitations").get_json()["items"]] == ["c@firm.example"]
    with app.app_context():
        db.session.execute(sa.update(Invitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
        db.session.remove()
    assert client.get(new).status_code == 400
    assert client.get("/join/not-a-token").status_code == 400


def test_an_organisation_sends_at_most_fifty_invitations_a_day(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    admin = api.as_user(founder)
    for n in range(50):
        assert admin.post("/api/v1/firm/invitations", json={"email": f"c{n}@firm.example"}).status_code == 201
    refused = admin.post("/api/v1/firm/invitations", json={"email": "one-more@firm.example"})
    assert refused.status_code == 409
    Browser(client).login("founder@firm.example", PASSWORD)
    page = Browser(client).submit("/firm/members", {"email": "one-more@firm.example"})
    assert page.status_code == 200 and "50" in page.get_data(as_text=True)  # beside the form, not an error page
    assert len(outbox(app, "account_invitation")) == 50


def test_an_unconfirmed_administrator_cannot_invite(app, make, api):
    founder = make.user(email="founder@firm.example", email_verified=False)
    answer = api.as_user(founder).post("/api/v1/firm/invitations", json={"email": "victim@target.example"})
    assert answer.status_code == 403 and outbox(app, "account_invitation") == []


def test_an_administrator_withdraws_an_invitation(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    stranger = make.user(email="other-admin@other.example")
    admin = api.as_user(founder)
    invitation = admin.post("/api/v1/firm/invitations", json={"email": "c@firm.example"}).get_json()
    assert api.as_user(stranger).delete(f"/api/v1/firm/invitations/{invitation['id']}").status_code == 404
    assert admin.delete(f"/api/v1/firm/invitations/{invitation['id']}").status_code == 204
    ((_to, _s, text),) = outbox(app, "account_invitation")
    assert client.get(_join_path(text)).status_code == 400
    assert admin.delete(f"/api/v1/firm/invitations/{invitation['id']}").status_code == 404  # withdrawn already
    assert admin.get("/api/v1/firm/invitations").get_json()["total"] == 0


def test_the_invitations_of_a_deactivated_administrator_die_with_them(app, make, api, client):
    founder = make.user(email="founder@firm.example")
    second = make.user(email="second-admin@firm.example", firm=founder.firm, org_admin=True)
    api.as_user(second).post("/api/v1/firm/invitations", json={"email": "friend@elsewhere.example"})
    ((_to, _s, text),) = outbox(app, "account_invitation")
    assert api.as_user(founder).delete(f"/api/v1/firm/members/{second.id}").status_code == 204
    assert client.get(_join_path(text)).status_code == 400
    assert _user(app, "friend@elsewhere.example") is None


def test_who_administers_nothing_learns_nothing_about_ids(app, make, api):
    """403 whatever the id for a caller who administers no organisation of
    the kind: a 404/403 difference would tell which ids are firm users."""
    founder = make.user(email="founder@firm.example")
    colleague = make.user(email="second@firm.example", firm=founder.firm)
    for caller in (api.as_user(colleague), api.as_user(make.user("manager")), api.as_user(make.user("city_admin"))):
        assert caller.delete(f"/api/v1/firm/members/{founder.id}").status_code == 403
        assert caller.delete("/api/v1/firm/members/999999").status_code == 403
        assert caller.delete("/api/v1/firm/invitations/999999").status_code == 403


def test_the_joint_office_deactivates_any_member(app, make, api):
    founder = make.user(email="founder@firm.example")
    office = api.as_user(make.user("admin"))
    assert office.delete(f"/api/v1/firm/members/{founder.id}").status_code == 204
    assert not _user(app, "founder@firm.example").active


def test_an_institution_administrator_adds_and_removes_managers_on_the_web(app, make, client):
    head = make.user("manager", email="head@inst.example", name="主任")
    deputy = make.user("manager", email="deputy@inst.example", institution_id=head.institution_id)
    browser = Browser(client)
    browser.login("head@inst.example", PASSWORD)
    page = client.get("/manage/staff").get_data(as_text=True)
    assert "deputy@inst.example" in page and f'id="member-{head.id}"' in page
    assert Browser(client).submit("/manage/staff", {"email": "newbie@inst.example"}).status_code == 302
    ((_to, subject, text),) = outbox(app, "account_invitation")
    assert "主任" in subject and "管理" in text
    newcomer = app.test_client()
    assert _join(newcomer, _join_path(text), name="新管理员").status_code == 302
    joined = _user(app, "newbie@inst.example")
    assert (joined.role, joined.institution_id, joined.org_admin) == ("manager", head.institution_id, False)
    assert newcomer.get("/manage/").status_code == 200  # a manager's desk at once

    page = client.get("/manage/staff").get_data(as_text=True)
    done = client.post(f"/manage/staff/{deputy.id}/deactivate", data={"csrf_token": csrf_token_from(page)})
    assert done.status_code == 302
    assert not _user(app, "deputy@inst.example").active
    own = client.post(f"/manage/staff/{head.id}/deactivate", data={"csrf_token": csrf_token_from(page)},
                      follow_redirects=True)
    assert "不能停用您自己的账户" in own.get_data(as_text=True) and _user(app, "head@inst.example").active

    # The manager who joined is no administrator: the page refuses them.
    assert newcomer.get("/manage/staff").status_code == 403


def test_the_cli_makes_an_administrator(app, runner, make):
    first = make.user("manager", email="first@inst.example")
    result = runner.invoke(args=["users", "create", "--email", "second@inst.example", "--password",
                                 "lab-key-20261130", "--role", "manager", "--institution",
                                 str(first.institution_id), "--org-admin"])
    assert result.exit_code == 0, result.output
    assert "administrator" in result.output
    assert _user(app, "second@inst.example").org_admin
    refused = runner.invoke(args=["users", "create", "--email", "bureau@x.example", "--password",
                                  "lab-key-20261130", "--role", "city_admin", "--city", "jiaxing", "--org-admin"])
    assert refused.exit_code != 0 and _user(app, "bureau@x.example") is None
