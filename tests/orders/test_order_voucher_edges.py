"""Edges of a voucher paying for an order that mutation testing found
untested (issue #21, `make mutation`): parts under one yuan and parts that
round to nothing, who each ledger movement names, withdrawing an order whose
voucher was revoked meanwhile, and the words of the stale-part refusal.
Through the API, on both engines."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from instrument_share.extensions import db
from instrument_share.integrity import violations
from instrument_share.vouchers.models import Voucher, VoucherEntry

from .test_order_money import NEXT_YEAR, _quoted, _report


def _balance(voucher_id: int) -> Decimal:
    db.session.expire_all()
    return db.session.get(Voucher, voucher_id).balance


def _ledger(order_id: int) -> list[tuple]:
    """The order's movements: kind, change of the balance, amount, who."""
    db.session.expire_all()
    return [tuple(row) for row in db.session.execute(
        sa.select(VoucherEntry.kind, VoucherEntry.delta, VoucherEntry.amount, VoucherEntry.actor_id)
        .where(VoucherEntry.order_id == order_id).order_by(VoucherEntry.id))]


def _order_id(url: str) -> int:
    return int(url.rsplit("/", 1)[1])


def test_a_part_under_one_yuan_is_held_spent_or_given_back_naming_who_moved_it(world, app_context):
    """Half of a ¥1.20 quote is ¥0.60: held when the firm's engineer accepts,
    spent by the manager's report, or given back when the engineer withdraws."""
    voucher, engineer, manager = world["voucher"]["id"], world["engineer"].id, world["manager"].id
    m = Decimal
    reported = _quoted(world, amount="1.20", voucher_id=voucher)
    accepted = world["firm"].post(f"{reported}/accept").json
    assert (accepted["voucher_amount"], accepted["firm_pays"]) == ("0.60", "0.60")
    assert _ledger(_order_id(reported)) == [("hold", m("-0.60"), m("0.60"), engineer)]
    assert _balance(voucher) == m("999.40")
    assert _report(world, reported).json["voucher_amount"] == "0.60"
    assert _ledger(_order_id(reported)) == [("hold", m("-0.60"), m("0.60"), engineer),
                                           ("capture", m("0.00"), m("0.60"), manager)]

    withdrawn = _quoted(world, amount="1.20", voucher_id=voucher)
    world["firm"].post(f"{withdrawn}/accept")
    assert _balance(voucher) == m("998.80")
    ended = world["firm"].post(f"{withdrawn}/withdraw").json
    assert (ended["status"], ended["voucher_amount"], ended["firm_pays"]) == ("withdrawn", "0.00", "1.20")
    assert _ledger(_order_id(withdrawn)) == [("hold", m("-0.60"), m("0.60"), engineer),
                                            ("release", m("0.60"), m("0.60"), engineer)]
    assert _balance(voucher) == m("999.40")
    assert violations() == []


def test_a_part_that_rounds_to_nothing_moves_no_money(world, app_context):
    """A voucher paying a tenth, on a ¥0.04 quote: its part is ¥0.00, so the
    order names the voucher but the ledger gets no movement, neither at
    acceptance nor with the report or a withdrawal."""
    tenth = world["bureau"].post("/api/v1/vouchers", json={
        "firm_id": world["engineer"].firm_id, "amount": "100.00", "expires_on": NEXT_YEAR, "max_share": "0.1"})
    assert tenth.status_code == 201, tenth.json
    voucher = tenth.json["id"]
    for end in ("report", "withdraw"):
        url = _quoted(world, amount="0.04", voucher_id=voucher)
        accepted = world["firm"].post(f"{url}/accept").json
        assert (accepted["voucher_id"], accepted["voucher_amount"], accepted["firm_pays"]) == (voucher, "0.00", "0.04")
        ended = _report(world, url) if end == "report" else world["firm"].post(f"{url}/withdraw")
        assert ended.status_code == 200, ended.json
        assert (ended.json["voucher_amount"], ended.json["firm_pays"]) == ("0.00", "0.04")
        assert _ledger(_order_id(url)) == []
    assert _balance(voucher) == Decimal("100.00")
    assert violations() == []


def test_withdrawing_an_order_whose_voucher_was_revoked_withdraws_what_it_held(world, app_context):
    """The bureau revokes the voucher while an order holds ¥200 of it; the
    firm then withdraws the order: the hold comes back and is withdrawn with
    the rest, both named after the engineer who withdrew, and the order owes
    the voucher nothing."""
    voucher, engineer = world["voucher"]["id"], world["engineer"].id
    m = Decimal
    url = _quoted(world, amount="400", voucher_id=voucher)
    assert world["firm"].post(f"{url}/accept").status_code == 200
    assert world["bureau"].post(f"/api/v1/vouchers/{voucher}/revoke").status_code == 200
    withdrawn = world["firm"].post(f"{url}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.json
    assert (withdrawn.json["status"], withdrawn.json["voucher_amount"], withdrawn.json["firm_pays"]) == (
        "withdrawn", "0.00", "400.00")
    assert _ledger(_order_id(url)) == [("hold", m("-200.00"), m("200.00"), engineer),
                                      ("release", m("200.00"), m("200.00"), engineer),
                                      ("revoke", m("-200.00"), m("200.00"), engineer)]
    assert _balance(voucher) == m("0.00")
    assert violations() == []


def test_a_stale_voucher_part_is_refused_with_what_to_do(world, app_context):
    voucher = world["voucher"]["id"]
    first = _quoted(world, amount="1200", voucher_id=voucher)
    other = _quoted(world, amount="1800", voucher_id=voucher)
    assert world["firm"].post(f"{other}/accept").status_code == 200  # ¥900 of ¥1,000 now held
    refused = world["firm"].post(f"{first}/accept", json={"voucher_amount": "600.00"})
    assert refused.status_code == 409
    assert refused.json["message"] == ("The voucher's part of the quote changed since you saw it: "
                                       "read the new figures before accepting.")
