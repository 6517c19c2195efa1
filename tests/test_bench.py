"""`flask bench` end to end at a small size, on the engine under test."""
from __future__ import annotations

import json
import os

import pytest
import sqlalchemy as sa

from instrument_share.booking.models import Booking
from instrument_share.extensions import db


def test_bench_builds_measures_and_writes_its_figures(app, runner, tmp_path, database_url, app_context):
    target = database_url if os.environ.get("TEST_DATABASE_URL") else f"sqlite:///{tmp_path / 'bench.sqlite'}"
    out = tmp_path / "bench.json"
    result = runner.invoke(args=["bench", "--instruments", "60", "--bookings", "3000", "--repeat", "3",
                                 "--busy-history", "400,1500", "--database", target, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["instruments"] == 60 and report["bookings"] == 3000
    for figure in ("create", "conflict"):
        assert report["at_10k"][figure]["n"] == 3 and report["at_full"][figure]["p50_ms"] > 0
    assert set(report["reads"]) == {"search_text", "search_thesaurus", "search_two_terms", "search_model",
                                    "search_city_category", "search_free", "suggest", "week_page",
                                    "timeline_week_page", "timeline_day_page", "schedule_api_week"}
    assert set(report["stats"]) == {"utilisation_year_by_instrument", "utilisation_year_by_city", "flows_year",
                                    "dashboard_admin_kept", "dashboard_admin_computed",
                                    "dashboard_admin_computed_mid_month", "dashboard_admin_stored",
                                    "dashboard_admin_after_a_change"}
    assert report["rollups_rebuild_seconds"] >= 0
    assert report["dashboard_sql_statements"] > 0 and report["peak_memory_mb"] > 0
    if target.startswith("sqlite"):
        assert set(report["write_lock_ms"]) == {"series_52_with_voucher", "blackout_cancelling_100",
                                                "voucher_csv_5000", "close_bookings_1000_no_shows"}
        assert all(value > 0 for value in report["write_lock_ms"].values())
    assert "POST /bookings, 201, at 3,000" in result.output
    busy = report["busy_instrument"]
    assert busy["history"] == [400, 1500] and busy["history_after"] >= 1500
    for size in ("at_1k", "at_1m"):
        assert busy[size]["create"]["n"] == busy[size]["conflict"]["n"] == 3
        assert 0 < busy[size]["conflict_sql_statements"] <= 8
    assert busy["create_ratio"] > 0 and busy["conflict_ratio"] > 0
    assert "one instrument, 1,500 in history, 409" in result.output
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        # 3,000 history rows plus the bookings the measurement made.
        assert conn.scalar(sa.select(sa.func.count()).select_from(Booking.__table__)) >= 3000
    engine.dispose()
    db.session.remove()


def test_bench_measures_the_busy_instrument_alone(app, runner, tmp_path, database_url, app_context):
    """`--only booking`: the catalogue and the busy instrument's two sizes,
    without the corridor's bookings and the other figures."""
    target = database_url if os.environ.get("TEST_DATABASE_URL") else f"sqlite:///{tmp_path / 'bench.sqlite'}"
    out = tmp_path / "bench.json"
    result = runner.invoke(args=["bench", "--only", "booking", "--instruments", "30", "--repeat", "3",
                                 "--busy-history", "300,900", "--database", target, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["only"] == "booking" and "at_10k" not in report and "stats" not in report
    busy = report["busy_instrument"]
    assert busy["at_1k"]["conflict_sql_statements"] == busy["at_1m"]["conflict_sql_statements"]
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        history = conn.scalar(sa.select(sa.func.count()).where(Booking.instrument_id == busy["instrument_id"]))
        active = conn.scalar(sa.select(sa.func.count()).where(Booking.instrument_id == busy["instrument_id"],
                                                              Booking.status.in_(("pending", "confirmed"))))
    engine.dispose()
    assert history >= 900 and 100 < active < 200  # two a working day for 120 days
    db.session.remove()


def test_bench_measures_the_statistics_alone(app, runner, tmp_path, database_url, app_context):
    """`--only stats` (issue #20): the corridor's history, then the
    statistics and the dashboard, read from the roll-ups it rebuilt."""
    target = database_url if os.environ.get("TEST_DATABASE_URL") else f"sqlite:///{tmp_path / 'bench.sqlite'}"
    out = tmp_path / "bench.json"
    result = runner.invoke(args=["bench", "--only", "stats", "--instruments", "30", "--bookings", "3000",
                                 "--repeat", "2", "--database", target, "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["only"] == "stats" and "at_10k" not in report and "busy_instrument" not in report
    assert set(report["stats"]) == {"utilisation_year_by_instrument", "utilisation_year_by_city", "flows_year",
                                    "dashboard_admin_kept", "dashboard_admin_computed",
                                    "dashboard_admin_computed_mid_month", "dashboard_admin_stored",
                                    "dashboard_admin_after_a_change"}
    assert 0 < report["dashboard_sql_statements"] <= 12
    assert "stats flows_year" in result.output
    engine = sa.create_engine(target)
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM stats_monthly")) >= 30
        assert conn.scalar(sa.text("SELECT count(*) FROM stats_institution_monthly")) > 0
    engine.dispose()
    db.session.remove()


def test_the_page_times_visit_every_roles_main_pages(app, make, app_context):
    """`flask bench --only pages` (issue #19): each role's main pages answer
    200 and are timed; a page that does not answer 200 stops the bench."""
    from instrument_share.tools.page_times import PAGES, measure_pages

    from .factories import PASSWORD

    manager = make.user(role="manager")
    mine = make.instrument(institution_id=manager.institution_id)
    logins = {role: make.user(role=role).email for role in ("firm", "city_admin", "admin")}
    logins["manager"] = manager.email
    times = measure_pages(app, logins, PASSWORD, repeat=1)
    assert len(times) == sum(len(paths) for paths in PAGES.values())
    assert all(value["p50_ms"] > 0 for value in times.values())
    assert f"manager /manage/instruments/{mine.id}" in times
    logins["firm"] = "nobody@test.example"  # cannot sign in: the bench stops
    with pytest.raises(Exception, match="could not sign in"):
        measure_pages(app, logins, PASSWORD, repeat=1)
