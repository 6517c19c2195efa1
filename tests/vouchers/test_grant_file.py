"""Granting vouchers from a CSV file (issue #13, finding 11): the whole file
is checked before the write lock (one query for all its USCCs), then one
bulk insert; every line or none; the file is capped; /vouchers/ is paged."""
from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from instrument_share.accounts.models import Firm
from instrument_share.database import begin_write_transaction, write_lock_stats
from instrument_share.extensions import db
from instrument_share.vouchers.models import Voucher, VoucherEntry

from ..conftest import csrf_token_from
from ..factories import valid_uscc
from ..test_statement_counts import counted

NEXT_YEAR = (date.today() + timedelta(days=365)).isoformat()


def _firms(count: int, city_code: str = "jinhua", first: int = 500_000) -> list[str]:
    """`count` firms of the city, written in one statement; their USCCs."""
    usccs = [valid_uscc(first + n) for n in range(count)]
    begin_write_transaction()
    db.session.execute(sa.insert(Firm), [{"name": f"批量企业{n}", "uscc": uscc, "city_code": city_code}
                                         for n, uscc in enumerate(usccs)])
    db.session.commit()
    return usccs


@pytest.fixture
def bureau(browser, client, make):
    make.user(role="city_admin", city_code="jinhua", email="bureau@jh.example")
    browser.login("bureau@jh.example")
    return csrf_token_from(client.get("/vouchers/").get_data(as_text=True))


def _post(client, token, lines: list[str]):
    return client.post("/vouchers/grant-csv", data={
        "csrf_token": token, "max_share": "0.5", "expires_on": NEXT_YEAR,
        "file": (io.BytesIO(("\n".join(lines) + "\n").encode()), "grants.csv")},
        content_type="multipart/form-data")


def _flashed(client) -> str:
    return client.get("/vouchers/").get_data(as_text=True)


def _count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(model.id)))


def test_a_5000_line_file_is_one_short_write(client, bureau, app_context):
    usccs = _firms(5000)
    lines = ["uscc,amount"] + [f"{uscc},{1000 + n % 7}.50" for n, uscc in enumerate(usccs)]
    write_lock_stats.reset()
    began = time.perf_counter()
    with counted() as statements:
        response = _post(client, bureau, lines)
    took = time.perf_counter() - began
    assert response.status_code == 302
    assert "5000" in _flashed(client)
    firm_lookups = [s for s in statements if re.search(r"\bFROM firms\b", s)]
    assert len(firm_lookups) == 1  # one query for all 5,000 USCCs
    assert _count(Voucher) == 5000 and _count(VoucherEntry) == 5000
    assert db.session.scalar(sa.select(sa.func.sum(Voucher.balance))) == sum(
        Decimal(f"{1000 + n % 7}.50") for n in range(5000))
    unmatched = db.session.scalar(  # each voucher has its grant, of its amount
        sa.select(sa.func.count(Voucher.id)).outerjoin(
            VoucherEntry, sa.and_(VoucherEntry.voucher_id == Voucher.id, VoucherEntry.kind == "grant",
                                  VoucherEntry.amount == Voucher.amount, VoucherEntry.delta == Voucher.amount))
        .where(VoucherEntry.id.is_(None)))
    assert unmatched == 0
    assert {db.session.get(Firm, v.firm_id).uscc for v in db.session.scalars(sa.select(Voucher))} == set(usccs)
    if db.engine.dialect.name == "sqlite":
        # BEGIN IMMEDIATE to COMMIT of the grant, the request's only write
        # (5 s before: one query and one insert per line under the lock).
        print(f"\n5,000-line grant: write lock held {write_lock_stats.longest * 1000:.0f} ms "
              f"({write_lock_stats.count} write transaction(s)); request {took * 1000:.0f} ms")
        assert write_lock_stats.count == 1
        assert write_lock_stats.longest < 1.0
    else:
        print(f"\n5,000-line grant on PostgreSQL: request {took * 1000:.0f} ms")

    page = client.get("/vouchers/").get_data(as_text=True)  # one page of 50, not 5,000
    assert page.count("/revoke") == 50
    assert "1 / 100" in page and "?page=2" in page
    last = client.get("/vouchers/?page=9999").get_data(as_text=True)  # past the end: the last page
    assert "100 / 100" in last and last.count("/revoke") == 50
    assert "history=2" in page  # the movements are paged too
    # 5,000 firms are too many to choose from: the single grant asks for the USCC.
    assert 'name="uscc"' in page and 'id="firm_id"' not in page
    assert len(page.encode()) < 100_000
    client.post("/vouchers/grant", data={"csrf_token": bureau, "uscc": usccs[7].lower(), "amount": "88",
                                         "max_share": "0.5", "expires_on": NEXT_YEAR})
    assert _count(Voucher) == 5001
    newest = db.session.scalar(sa.select(Voucher).order_by(Voucher.id.desc()).limit(1))
    assert (db.session.get(Firm, newest.firm_id).uscc, newest.amount) == (usccs[7], Decimal("88.00"))


def test_a_bad_line_grants_nothing_and_the_refusal_names_the_lines(client, bureau, make, app_context):
    usccs = _firms(40)
    hefei = _firms(1, city_code="hefei", first=600_000)[0]
    lines = [f"{uscc},100" for uscc in usccs]
    lines[2] = f"{usccs[2]},12.345"  # line 3: not to the fen
    lines[4] = f"{hefei},100"  # line 5: another city's firm
    lines[6] = "91330100MA0000000X,100"  # line 7: nobody's USCC
    lines[8] = f"{usccs[8]}"  # line 9: no amount
    response = _post(client, bureau, lines)
    assert response.status_code == 302
    page = _flashed(client)
    for number in (3, 5, 7, 9):
        assert f"第 {number} 行" in page
    assert "第 1 行" not in page
    assert _count(Voucher) == 0 and _count(VoucherEntry) == 0

    many_bad = [f"{uscc},0" for uscc in usccs]  # 40 bad lines: the first 20 are named
    _post(client, bureau, many_bad)
    page = _flashed(client)
    assert "第 20 行" in page and "第 21 行" not in page and "还有其他行" in page
    assert _count(Voucher) == 0


def test_the_file_is_checked_before_the_write_lock(client, bureau, app_context):
    usccs = _firms(3)
    too_many = [f"{usccs[0]},1"] * 5_001
    write_lock_stats.reset()
    _post(client, bureau, too_many)
    assert "5,000" in _flashed(client) or "5000" in _flashed(client)
    _post(client, bureau, [f"{usccs[0]},1", f"{usccs[1]},lots"])
    if db.engine.dialect.name == "sqlite":
        assert write_lock_stats.count == 0  # refused without ever taking the lock
    assert _count(Voucher) == 0
    huge_cell = '"' + "x" * 200_000 + '",1'  # beyond the csv module's field limit
    response = _post(client, bureau, [huge_cell])
    assert response.status_code == 302 and "CSV" in _flashed(client)
    assert _count(Voucher) == 0
