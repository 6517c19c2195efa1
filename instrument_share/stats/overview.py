"""The dashboard's tables summed by the database (issue #20): for a period of
whole days before today, its groupings by city, category and institution,
the least and the most used instruments, and the instruments below their
quota, in one statement over each instrument's roll-ups, so that no row per
instrument comes back to Python (the corridor has 20,000).

The figures are the per-instrument path's (`services.instruments_over`,
`utilisations`, `by_use`, `below_quota`), which a period reaching today
still takes: the same integers, the same exact orderings
(tests/stats/test_overview.py holds the two equal).
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import sqlalchemy as sa

from ..accounts.models import Institution
from ..accounts.policy import Scope
from ..catalogue.models import Instrument
from ..extensions import db
from ..sql import dialect, greatest
from ..timeutil import platform_zone
from . import orders as order_stats
from . import rollups
from .services import (
    OPEN_MINUTES,
    QUOTA_HOURS,
    InstrumentRow,
    Period,
    _figures_of,
    _in_scope,
    _open_minutes_over,
    _reported_orders,
    _rolled_query,
    _table,
    _used_query,
    instrument_row,
    quota_days,
    quota_row,
)

GROUPINGS = ("city", "category", "institution")
VALUES = ("open_minutes", *rollups.BOOKING_FIELDS, "used_ytd")


@dataclass
class Overview:
    groupings: dict[str, dict]   # {"city" | "category" | "institution": utilisation table}
    least_used: list[dict]       # instrument rows, the least used first
    most_used: list[dict]        # the most used first
    quota: list[dict]            # the first rows below quota
    quota_count: int


def _per_instrument(scope: Scope, period: Period, ytd: Period) -> sa.CTE:
    """Every instrument in scope with its figures over the period and its used
    seconds over the year to date (orders' machine time included); its
    names are joined only to the rows shown."""
    # The period's sums and the year's, each its own grouped subquery: one
    # union of both ranges, grouped again, took longer than the two.
    sums = _rolled_query(scope, {"period": period}).subquery()
    year = _used_query(scope, ytd).subquery()
    opening = _open_minutes_over(list(period.days()))
    machine = order_stats.machine_seconds(ytd.start, ytd.end)

    def summed(name):
        return sa.func.coalesce(sums.c[name], 0)

    query = (
        sa.select(Instrument.id, Instrument.institution_id, Institution.city_code.label("city"),
                  Instrument.category_code.label("category"), Instrument.quota_class,
                  greatest(sa.func.coalesce(opening, 0) - summed("lost_minutes_0"), 0).label("open_minutes"),
                  *(summed(f"{name}_0").label(name) for name in rollups.BOOKING_FIELDS),
                  (sa.func.coalesce(year.c.used_seconds_0, 0) + sa.func.coalesce(machine.c.seconds, 0)).label("used_ytd"))
        .select_from(Instrument).join(Institution, Instrument.institution_id == Institution.id)
        .outerjoin(sums, sums.c.k == Instrument.id)
        .outerjoin(year, year.c.k == Instrument.id)
        .outerjoin(OPEN_MINUTES, OPEN_MINUTES.c.instrument_id == Instrument.id)
        .outerjoin(machine, machine.c.instrument_id == Instrument.id)
        .where(*_in_scope(scope))
        .cte("per_instrument")
    )
    # Read by every arm, made once. SQLite before 3.35 has no such hint
    # (it then may make the CTE for each arm: slower, the same figures).
    if dialect() == "postgresql" or sqlite3.sqlite_version_info >= (3, 35):
        query = query.prefix_with("MATERIALIZED")
    return query


def _statement(per: sa.CTE, shown: int, elapsed_days: int, year_days: int, owners: list[int]
               ) -> sa.CompoundSelect:
    """One row per group of each grouping (kind "city" …), per instrument
    shown (kind "least", "most", "quota", with its place), the number of
    instruments below quota (kind "quota_count"), and the groups of the
    instruments `owners` (kind "owner": city, category and institution as
    label, label_en and institution); columns alike in every arm."""
    nothing = sa.cast(sa.literal(""), sa.String)

    def row(kind, key, names, count, values, place):
        return [sa.literal(kind).label("kind"), sa.cast(key, sa.String).label("key"),
                *(name.label(column) for column, name in zip(("label", "label_en", "institution", "quota_class"),
                                                              names, strict=True)),
                count.label("n"), *(value.label(name) for name, value in zip(VALUES, values, strict=True)),
                sa.cast(place, sa.Integer).label("place")]

    arms = []
    for kind in GROUPINGS:
        key = {"city": per.c.city, "category": per.c.category, "institution": per.c.institution_id}[kind]
        grouped = (sa.select(key.label("key"), sa.func.count().label("n"),
                             *(sa.cast(sa.func.sum(per.c[v]), sa.BigInteger).label(v) for v in VALUES))
                   .group_by(key).subquery(f"by_{kind}"))
        # Only an institution is labelled by its names (a city and a category by the reference tables').
        names = (Institution.name, Institution.name_en) if kind == "institution" else (nothing, nothing)
        select = sa.select(*row(kind, grouped.c.key, (*names, nothing, nothing), grouped.c.n,
                                [grouped.c[v] for v in VALUES], sa.literal(0)))
        if kind == "institution":
            select = select.join_from(grouped, Institution, Institution.id == grouped.c.key)
        arms.append(select)

    # The exact quotients the per-instrument path sorts by (services.use_key, below_quota).
    def utilisation(rows):
        return sa.case((rows.c.open_minutes > 0,
                        sa.cast(rows.c.booked_seconds, sa.Float) / (rows.c.open_minutes * 60)), else_=0.0)

    def quota_seconds(rows):  # times the year's days
        return sa.case(QUOTA_HOURS, value=rows.c.quota_class, else_=0) * (3600 * elapsed_days)

    def attainment(rows):
        return sa.cast(rows.c.used_ytd * year_days, sa.Float) / sa.func.nullif(quota_seconds(rows), 0)

    below = per.c.used_ytd * year_days < quota_seconds(per)
    orders = {
        "least": lambda rows: (utilisation(rows), rows.c.booked_seconds, rows.c.id),
        "most": lambda rows: (utilisation(rows).desc(), rows.c.booked_seconds.desc(), rows.c.id.desc()),
        "quota": lambda rows: (attainment(rows), rows.c.id),
    }
    for kind, order in orders.items():
        # The first `shown` in order (a top-N sort, not one of every row), numbered.
        first = (sa.select(per).where(below if kind == "quota" else sa.true())
                 .order_by(*order(per)).limit(shown).subquery(kind))
        arms.append(sa.select(*row(kind, first.c.id, (Instrument.name, Instrument.name_en, Institution.name,
                                                      first.c.quota_class), sa.literal(1),
                                   [first.c[v] for v in VALUES], sa.func.row_number().over(order_by=order(first))))
                    .join_from(first, Instrument, Instrument.id == first.c.id)
                    .join(Institution, Institution.id == first.c.institution_id))
    arms.append(sa.select(*row("quota_count", nothing, (nothing,) * 4, sa.func.count(),
                               [sa.literal(0)] * len(VALUES), sa.literal(0)))
                .select_from(per).where(below))
    if owners:
        arms.append(sa.select(*row("owner", per.c.id, (per.c.city, per.c.category,
                                                       sa.cast(per.c.institution_id, sa.String), nothing),
                                   sa.literal(1), [sa.literal(0)] * len(VALUES), sa.literal(0)))
                    .where(per.c.id.in_(owners)))
    return sa.union_all(*arms)


@lru_cache(maxsize=64)
def _built(_dialect: str, _zone: str, scope: Scope, first: date, last: date, ytd_first: date, shown: int,
           owners: tuple[int, ...]) -> sa.CompoundSelect:
    """The statement for these arguments, built once a process: building its
    few thousand SQLAlchemy elements took 10 ms a request, five times what
    the database takes at the demo region's size, and every visitor of a day
    asks for the same thirty days. Keyed also by what building it reads
    from the app (the engine's dialect, the platform's zone); statements are
    immutable and may be executed by many threads."""
    period = Period(first, last)
    elapsed_days, year_days = quota_days(period)
    return _statement(_per_instrument(scope, period, Period(ytd_first, last)), shown, elapsed_days, year_days,
                      list(owners))


def overview(scope: Scope, period: Period, ytd: Period, orders: list[order_stats.ReportedOrder],
             shown: int) -> Overview:
    """The dashboard's tables for a `period` of whole days before today and
    the year to its end (`ytd`), `shown` rows of each list; `orders`: those
    reported over both (`services.scope_orders`)."""
    elapsed_days, year_days = quota_days(period)
    groups: dict[str, dict] = {kind: {} for kind in GROUPINGS}
    listed: dict[str, list] = {"least": [], "most": [], "quota": []}
    quota_count = 0
    owners: dict[int, tuple[str, str, int]] = {}
    reported = _reported_orders(scope, period, orders)
    statement = _built(dialect(), platform_zone().key, scope, period.first, period.last, ytd.first, shown,
                       tuple(sorted(reported)))
    for row in db.session.execute(statement).mappings():
        kind = row["kind"]
        if kind == "quota_count":
            quota_count = row["n"]
            continue
        if kind == "owner":
            owners[int(row["key"])] = (row["label"], row["label_en"], int(row["institution"]))
            continue
        figures = _figures_of(*(row[name] for name in rollups.BOOKING_FIELDS))
        figures.open_minutes, figures.instruments = int(row["open_minutes"] or 0), int(row["n"])
        if kind in groups:
            key = int(row["key"]) if kind == "institution" else row["key"]
            groups[kind][key] = (figures, (row["label"], row["label_en"]))
        else:
            listed[kind].append((row, figures))
    # An order counts in its instrument's groups as the statement saw them:
    # the orders were read before it, and an instrument moved to another
    # category, institution or city in between (another request's commit)
    # must not leave an order without its group (found by review: a 500).
    for instrument_id, instrument_orders in reported.items():
        if instrument_id not in owners:
            continue  # it left the scope meanwhile
        city, category, institution_id = owners[instrument_id]
        for order in instrument_orders:
            for kind, key in (("city", city), ("category", category), ("institution", institution_id)):
                groups[kind][key][0].add_order(order)

    def instrument_rows(kind: str) -> list[dict]:
        rows = []
        for row, figures in sorted(listed[kind], key=lambda found: found[0]["place"]):
            for order in reported.get(int(row["key"]), ()):
                figures.add_order(order)
            rows.append(instrument_row(InstrumentRow(int(row["key"]), row["label"], row["label_en"], 0,
                                                     row["institution"], "", "", "", row["quota_class"], figures)))
        return rows

    quota = [quota_row(int(row["key"]), row["label"], row["label_en"], row["institution"], row["quota_class"],
                       int(row["used_ytd"]), elapsed_days, year_days)
             for row, _ in sorted(listed["quota"], key=lambda found: found[0]["place"])]
    return Overview(groupings={kind: _table(kind, found) for kind, found in groups.items()},
                    least_used=instrument_rows("least"), most_used=instrument_rows("most"),
                    quota=quota, quota_count=quota_count)
