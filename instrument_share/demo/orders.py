"""Demo orders of entrusted testing in every status across the nine cities,
some paid in part by vouchers, so the firm's orders page, the manager's
order desk and the settlement list show the whole life of an order.

They go through the order services (the same rules, events and ledger as
real ones); the mails those services queue are dropped, because nobody
should be mailed about a demo's history.
"""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from fpdf import FPDF

from ..accounts.models import Institution, Role, User
from ..catalogue.models import Instrument, in_service_condition
from ..errors import ValidationFailed
from ..extensions import db
from ..mail.models import OutboxMessage
from ..orders import services as orders
from ..orders.models import Order
from ..timeutil import platform_today
from ..vouchers.models import Voucher, VoucherStatus
from ..vouchers.services import issue_voucher

# What the demo's firms send (sample, quantity, unit, hazards) and want done;
# the title names the instrument, so an order always fits the machine it is for.
SAMPLES = (
    ("NCM811 正极粉末", "3", "份", "无"), ("镀锌钢板截面", "4", "块", "无"), ("PET 切片", "5", "g", "无"),
    ("原料药样品", "0.5", "g", "避光保存"), ("Pt/Al2O3 催化剂", "2", "g", "无"), ("不锈钢屑", "10", "g", "无"),
    ("地表水样", "500", "mL", "已酸化，含硝酸"), ("二氧化硅分散液", "20", "mL", "无"), ("硅基薄膜", "3", "片", "无"),
    ("碳纤维复合材料", "6", "件", "粉尘勿吸入"),
)
GOALS = ("成分与结构表征", "来料质量检验", "失效原因分析", "研发样品对比测试", "工艺改进前后对比")


def demo_report(number: str) -> bytes:
    """A one-page PDF standing in for a test report."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(text=f"Test report {number} (demo)")
    return bytes(pdf.output())


def _orderable(institution_ids: list[int]) -> dict[int, list[int]]:
    """Instruments that take orders, by institution."""
    rows = db.session.execute(sa.select(Instrument.institution_id, Instrument.id).where(
        Instrument.institution_id.in_(institution_ids), Instrument.accepts_orders, in_service_condition())
        .order_by(Instrument.id))
    found: dict[int, list[int]] = {}
    for institution_id, instrument_id in rows:
        found.setdefault(institution_id, []).append(instrument_id)
    return found


def _voucher_of(firm_user: User, bureaus: dict[str, User]) -> int | None:
    """A voucher of the firm that can pay today; if its vouchers are spent or
    expired, its city's bureau grants one more (as bureaus top up)."""
    today = platform_today()
    usable = db.session.scalar(sa.select(Voucher.id).where(
        Voucher.firm_id == firm_user.firm_id, Voucher.status == VoucherStatus.ACTIVE, Voucher.balance > 1000,
        Voucher.expires_on >= today + timedelta(days=30)).order_by(Voucher.id.desc()).limit(1))
    if usable is not None:
        return usable
    bureau = bureaus.get(firm_user.firm.city_code)
    if bureau is None:
        return None
    return issue_voucher(bureau, firm_user.firm_id, "20000.00", today + timedelta(days=365), "0.5").id


STEPS = ("closed", "reported", "received", "overdue", "accepted", "quoted", "submitted", "declined",
         "withdrawn", "rejected")
PER_CITY = 4


def seed_orders(rng: random.Random) -> int:
    """Demo orders when there are none: PER_CITY for the first engineer of
    each city's demo firms, at institutions of their own city half the time
    and of the others otherwise, going through every status in turn (and
    one report overdue in each city), half of them paid in part by the
    firm's voucher from its city's bureau. Returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count(Order.id))):
        return 0
    engineers = {}
    for user in db.session.scalars(sa.select(User).where(User.role == Role.FIRM, User.firm_id.is_not(None))
                                   .order_by(User.id)):
        engineers.setdefault(user.firm.city_code, user)
    managers = {}
    for user in db.session.scalars(sa.select(User).where(User.role == Role.MANAGER, User.active)
                                   .order_by(User.id)):
        managers.setdefault(user.institution_id, user)
    bureaus = {user.city_code: user for user in db.session.scalars(
        sa.select(User).where(User.role == Role.CITY_ADMIN).order_by(User.id.desc()))}
    orderable = _orderable(list(managers))
    institutions = {institution.id: institution.city_code for institution in
                    db.session.scalars(sa.select(Institution).where(Institution.id.in_(list(orderable))))}
    if not engineers or not orderable:
        return 0
    first_outbox = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0)))
    added, step = 0, 0
    for city, firm_user in sorted(engineers.items()):
        local = [i for i, c in institutions.items() if c == city]
        for _ in range(PER_CITY):
            pool = local if local and rng.random() < 0.5 else list(institutions)
            institution_id = rng.choice(sorted(pool))
            instrument = db.session.get(Instrument, rng.choice(orderable[institution_id]))
            _one_order(rng, firm_user, managers[institution_id], instrument, STEPS[step % len(STEPS)],
                       _voucher_of(firm_user, bureaus) if instrument.accepts_vouchers and step % 2 else None)
            added, step = added + 1, step + 1
    db.session.flush()
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id > first_outbox))
    return added


def _one_order(rng: random.Random, firm_user: User, manager: User, instrument: Instrument, last_step: str,
               voucher_id: int | None) -> None:
    goal = rng.choice(GOALS)
    samples = [{"name": name, "quantity": quantity, "unit": unit, "hazards": hazards}
               for name, quantity, unit, hazards in rng.sample(SAMPLES, rng.choice((1, 1, 2)))]
    title, requirements = f"{instrument.name}：{goal}", f"按{instrument.name}常规方法测试，出具检测报告并附原始数据。"
    try:
        order = orders.submit_order(firm_user, instrument.id, title, requirements, samples, voucher_id=voucher_id)
    except ValidationFailed:  # the voucher may not pay here (a related party): without it
        order = orders.submit_order(firm_user, instrument.id, title, requirements, samples)
    if last_step == "submitted":
        return
    if last_step == "declined":
        orders.decline_order(manager, order.id, "本实验室暂无该项目的检测资质，建议联系计量院。")
        return
    orders.quote_order(manager, order.id, str(rng.choice((600, 800, 1200, 1800, 2400))), rng.choice((3, 5, 7)),
                       note="含数据处理与报告")
    if last_step == "quoted":
        return
    if last_step == "rejected":
        orders.reject_quote(firm_user, order.id)
        return
    orders.accept_quote(firm_user, order.id)
    if last_step == "withdrawn":
        orders.withdraw_order(firm_user, order.id)
        return
    if last_step == "accepted":
        return
    orders.receive_samples(manager, order.id)
    if last_step == "overdue":  # the samples came two weeks ago: the report is late
        order.received_on = platform_today() - timedelta(days=14)
        order.due_on = orders.add_working_days(order.received_on, order.turnaround_days)
        return
    if last_step == "received":
        return
    orders.upload_report(manager, order.id, demo_report(order.number), machine_minutes=rng.choice((60, 90, 150)))
    if last_step == "closed":
        orders.rate_order(firm_user, order.id, rng.choice((5, 5, 4)), "出报告很快，数据清楚。")
