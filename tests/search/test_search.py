"""Search that speaks the instrument language (issue #15): the thesaurus,
the index kept in the record's transaction, every term must match, and the
relevance of everyday queries over the demo region."""
from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from instrument_share.catalogue.models import Category, Instrument
from instrument_share.database import begin_write_transaction
from instrument_share.demo.instrument_types import INSTRUMENT_TYPES
from instrument_share.demo.seed import seed_catalogue
from instrument_share.extensions import db
from instrument_share.search.models import InstrumentTerm
from instrument_share.search.services import SearchFilters, search_instruments
from instrument_share.search.terms import compact, thesaurus

HERE = Path(__file__).resolve().parent


def names(query: str, **filters) -> list[str]:
    found = search_instruments(SearchFilters(q=query, per_page=50, **filters))
    return [instrument.name for instrument in found.items]


def test_the_thesaurus_covers_every_demo_kind_and_every_category(app_context):
    entries = thesaurus().entries.values()
    owners: dict[str, set[str]] = {}
    for entry in entries:
        for key in (entry.name, entry.name_en, *entry.terms):
            owners.setdefault(compact(key), set()).add(entry.id)
    repeated = sorted(key for key, ids in owners.items() if key and len(ids) > 1)
    assert not repeated, f"a name or term in two entries: {repeated}"
    for entry in entries:
        assert set(entry.broader) <= thesaurus().entries.keys(), entry.id
    uncovered = [kind.name for kind in INSTRUMENT_TYPES
                 if not any(compact(key) and compact(key) in compact(kind.name)
                            for entry in entries for key in (entry.name, *entry.terms))]
    assert not uncovered, f"demo kinds no thesaurus entry names: {uncovered}"
    codes = set(db.session.scalars(sa.select(Category.code)))
    kinds = [entry for entry in entries if entry.category]  # the rest are makers (brands.yaml)
    assert {entry.category for entry in kinds} <= codes
    assert codes - {entry.category for entry in kinds} == set(), "categories without an entry"


def test_abbreviations_acronyms_and_widths_find_the_same_instruments(make, app_context):
    sem = make.instrument(name="场发射扫描电子显微镜", name_en="Field emission scanning electron microscope",
                          model="JSM-IT800", manufacturer="JEOL")
    make.instrument(name="10米法电波暗室", name_en="10 m semi-anechoic chamber for EMC",
                    category_code="analytical-electron-optics", model="FACT-10", manufacturer="ETS-Lindgren")
    for query in ("扫描电镜", "SEM", "ＳＥＭ", "sem", "电镜", "扫描电子显微镜", "scanning electron microscope",
                  "JSM-IT800", "jsmit800", "JSM-IT", "IT800", "JEOL"):
        assert names(query) == [sem.name], query


def test_every_term_must_match_and_a_query_only_narrows(make, app_context):
    hefei = make.instrument(name="扫描电子显微镜", name_en="SEM")
    other = make.instrument(name="透射电子显微镜", name_en="TEM")
    assert sorted(names("电镜")) == sorted([hefei.name, other.name])
    assert names("电镜 扫描") == [hefei.name]
    assert names("扫描电镜 不存在的词") == []
    assert names("SEM qqqq") == []


def test_the_index_follows_every_change_of_the_record(make, api, app_context):
    manager = make.user(role="manager")
    mgr = api.as_user(manager)
    created = mgr.post("/api/v1/instruments", json={
        "name": "X射线衍射仪", "name_en": "X-ray diffractometer", "category": "analytical-electron-optics",
        "model": "D8 Advance", "manufacturer": "Bruker", "hourly_rate": "200.00"})
    assert created.status_code == 201, created.json
    instrument_id = created.json["id"]
    assert api.client.get("/api/v1/instruments?q=D8Advance").json["total"] == 1
    changed = mgr.patch(f"/api/v1/instruments/{instrument_id}", json={"model": "SmartLab", "manufacturer": "Rigaku"})
    assert changed.status_code == 200, changed.json
    assert api.client.get("/api/v1/instruments?q=D8Advance").json["total"] == 0
    assert api.client.get("/api/v1/instruments?q=SmartLab").json["total"] == 1
    # A refused change leaves the index as it was (the same transaction).
    refused = mgr.patch(f"/api/v1/instruments/{instrument_id}",
                        json={"model": "Empyrean", "min_booking_minutes": 600, "max_booking_minutes": 60})
    assert refused.status_code == 422
    assert api.client.get("/api/v1/instruments?q=Empyrean").json["total"] == 0
    assert api.client.get("/api/v1/instruments?q=SmartLab").json["total"] == 1
    db.session.expire_all()
    terms = set(db.session.scalars(sa.select(InstrumentTerm.term).where(InstrumentTerm.instrument_id == instrument_id)))
    assert {"smartlab", "rigaku"} <= terms and "d8advance" not in terms


def _demo_kinds_by_name() -> dict[str, set[str]]:
    kinds: dict[str, set[str]] = {}
    for kind in INSTRUMENT_TYPES:
        kinds.setdefault(kind.name, set()).add(kind.key)
    return kinds


@pytest.mark.slow
def test_everyday_queries_find_the_right_instruments_in_the_demo_region(app_context, capsys):
    """The relevance set (relevance.yaml): at least 80 queries a firm would
    type, each with the kinds that must fill its top 5; precision@5 ≥ 0.9
    over the set and no query without results."""
    begin_write_transaction()
    seed_catalogue()
    db.session.commit()
    instruments = db.session.scalar(sa.select(sa.func.count(Instrument.id)))
    indexed = db.session.scalar(sa.select(sa.func.count(sa.distinct(InstrumentTerm.instrument_id))))
    assert indexed == instruments > 600  # every instrument, indexed as it was flushed
    cities = dict(db.session.execute(sa.text(
        "SELECT i.id, s.city_code FROM instruments i JOIN institutions s ON s.id = i.institution_id")).all())
    kinds = _demo_kinds_by_name()
    cases = yaml.safe_load((HERE / "relevance.yaml").read_text(encoding="utf-8"))
    assert len(cases) >= 80
    relevant_total, shown_total, empty, misses = 0, 0, [], []
    for case in cases:
        found = search_instruments(SearchFilters(q=case["query"], per_page=5)).items
        if not found:
            empty.append(case["query"])
            continue
        good = [i for i in found if kinds.get(i.name, set()) & set(case["relevant"])
                and ("city" not in case or cities[i.id] == case["city"])]
        relevant_total += len(good)
        shown_total += len(found)
        if len(good) < len(found):
            misses.append(f"{case['query']}: {[i.name for i in found if i not in good]}")
    precision = relevant_total / max(shown_total, 1)
    with capsys.disabled():
        print(f"\nsearch relevance: {len(cases)} queries, precision@5 {precision:.3f}, "
              f"{len(empty)} without results")
        for miss in misses:
            print("  off:", miss)
    assert not empty, f"queries that found nothing: {empty}"
    assert precision >= 0.9
