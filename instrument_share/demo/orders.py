"""A few demo orders of entrusted testing in every status, so the firm's
orders page and the manager's order desk show the whole life of an order.

They go through the order services (the same rules, events and ledger as
real ones); the mails those services queue are dropped, because nobody
should be mailed about a demo's history.
"""
from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa
from fpdf import FPDF

from ..accounts.models import Role, User
from ..catalogue.models import Instrument, in_service_condition
from ..extensions import db
from ..mail.models import OutboxMessage
from ..orders import services as orders
from ..orders.models import Order
from ..timeutil import platform_today

# (title, requirements, samples, the last step the order reached)
ORDERS = (
    ("锂电正极材料物相分析", "XRD 全谱扫描 2θ 10–80°，给出物相鉴定与晶胞参数", [("NCM811 粉末", "3", "份", "无")], "closed"),
    ("涂层截面形貌与元素分布", "SEM 截面形貌 + EDS 面扫，放大倍数 1k–20k", [("镀锌钢板截面", "4", "块", "无")], "reported"),
    ("聚合物热稳定性测试", "TGA 室温–800 °C，氮气气氛，10 °C/min", [("PET 切片", "5", "g", "无")], "received"),
    ("药物杂质定性分析", "LC-MS 未知杂质鉴定，提供二级谱图", [("原料药样品", "0.5", "g", "避光保存")], "overdue"),
    ("催化剂比表面积与孔径", "BET 多点法，77 K 氮气吸附", [("Pt/Al2O3 催化剂", "2", "g", "无")], "accepted"),
    ("合金成分分析", "ICP-OES 测定 Fe、Ni、Cr、Mo 含量", [("不锈钢屑", "10", "g", "无")], "quoted"),
    ("水样重金属检测", "ICP-MS 测定 Pb、Cd、Hg、As", [("地表水", "500", "mL", "酸化保存")], "submitted"),
    ("纳米颗粒粒径分布", "DLS 粒径及 Zeta 电位", [("二氧化硅分散液", "20", "mL", "无")], "declined"),
    ("薄膜厚度测量", "椭偏仪测量多层膜厚度", [("硅基薄膜", "3", "片", "无")], "withdrawn"),
)


def demo_report(number: str) -> bytes:
    """A one-page PDF standing in for a test report."""
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=14)
    pdf.cell(text=f"Test report {number} (demo)")
    return bytes(pdf.output())


def _instrument(rng: random.Random, institution_id: int) -> Instrument | None:
    ids = db.session.scalars(sa.select(Instrument.id).where(
        Instrument.institution_id == institution_id, Instrument.accepts_orders, in_service_condition())
        .order_by(Instrument.id)).all()
    return db.session.get(Instrument, rng.choice(ids)) if ids else None


def seed_orders(rng: random.Random, firm_email: str, manager_email: str) -> int:
    """The demo orders of one firm's engineer at one manager's institution,
    when there are no orders yet; returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count(Order.id))):
        return 0
    firm_user = db.session.scalar(sa.select(User).where(User.email == firm_email, User.role == Role.FIRM))
    manager = db.session.scalar(sa.select(User).where(User.email == manager_email, User.role == Role.MANAGER))
    if firm_user is None or manager is None:
        return 0
    first_outbox = db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(OutboxMessage.id), 0)))
    added = 0
    for title, requirements, samples, last_step in ORDERS:
        instrument = _instrument(rng, manager.institution_id)
        if instrument is None:
            return added
        order = orders.submit_order(firm_user, instrument.id, title, requirements, [
            {"name": name, "quantity": quantity, "unit": unit, "hazards": hazards}
            for name, quantity, unit, hazards in samples])
        added += 1
        if last_step == "submitted":
            continue
        if last_step == "declined":
            orders.decline_order(manager, order.id, "本实验室暂无该项目的检测资质，建议联系计量院。")
            continue
        orders.quote_order(manager, order.id, str(rng.choice((600, 800, 1200, 1800, 2400))), rng.choice((3, 5, 7)),
                           note="含数据处理与报告")
        if last_step == "quoted":
            continue
        orders.accept_quote(firm_user, order.id)
        if last_step == "withdrawn":
            orders.withdraw_order(firm_user, order.id)
            continue
        if last_step == "accepted":
            continue
        orders.receive_samples(manager, order.id)
        if last_step == "overdue":  # the samples came earlier than today: the report is late
            order.received_on = platform_today() - timedelta(days=14)
            order.due_on = orders.add_working_days(order.received_on, order.turnaround_days)
            continue
        if last_step == "received":
            continue
        orders.upload_report(manager, order.id, demo_report(order.number), machine_minutes=rng.choice((60, 90, 150)))
        if last_step == "closed":
            orders.rate_order(firm_user, order.id, 5, "出报告很快，数据清楚。")
    db.session.flush()
    db.session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id > first_outbox))
    return added
