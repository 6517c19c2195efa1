"""Catalogue endpoints exactly as API.md describes them."""
from __future__ import annotations

from decimal import Decimal

import pytest

from instrument_share.extensions import db


@pytest.fixture
def corridor(make):
    """A small corridor: two institutions in two cities, five instruments."""
    zju = make.institution(name="浙江大学", name_en="Zhejiang University", city_code="hangzhou")
    ustc = make.institution(
        name="中国科学技术大学", name_en="University of Science and Technology of China",
        city_code="hefei",
    )
    items = {
        "lcms": make.instrument(
            institution=ustc, name="液相色谱-质谱联用仪", name_en="Liquid chromatograph-mass spectrometer",
            model="LCMS-8060", manufacturer="Shimadzu", category_code="analytical-mass-spectrometry",
            hourly_rate=Decimal("400.00"), description="三重四极杆，ESI 源",
        ),
        "icpms": make.instrument(
            institution=zju, name="电感耦合等离子体质谱仪", name_en="ICP mass spectrometer",
            model="7900", manufacturer="Agilent", category_code="analytical-mass-spectrometry",
            hourly_rate=Decimal("350.00"), accepts_vouchers=False,
        ),
        "sem": make.instrument(
            institution=zju, name="场发射扫描电子显微镜", name_en="Field emission SEM",
            model="GeminiSEM 500", manufacturer="Zeiss", category_code="analytical-electron-optics",
            hourly_rate=Decimal("500.00"), requires_approval=True,
        ),
        "xrd": make.instrument(
            institution=zju, name="X射线衍射仪", name_en="X-ray diffractometer", model="D8 Advance",
            manufacturer="Bruker", category_code="analytical-x-ray", hourly_rate=Decimal("200.00"),
        ),
        "ct": make.instrument(
            institution=ustc, name="工业CT", name_en="Industrial CT 100%_scan", model="phoenix v|tome|x",
            manufacturer="Waygate", category_code="special-testing", hourly_rate=Decimal("800.00"),
            status="awaiting_repair",
        ),
    }
    return {"zju": zju, "ustc": ustc, **items}


def ids(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    return {item["id"] for item in response.json["items"]}


def test_cities_lists_the_nine_with_counts(client, corridor):
    body = client.get("/api/v1/cities").json
    assert [c["code"] for c in body["items"]] == [
        "songjiang", "jiaxing", "hangzhou", "jinhua", "suzhou", "huzhou", "xuancheng", "wuhu", "hefei"
    ]
    assert (body["total"], body["page"]) == (9, 1)
    counts = {c["code"]: c["instrument_count"] for c in body["items"]}
    assert counts["hangzhou"] == 3 and counts["hefei"] == 2 and counts["wuhu"] == 0
    hefei = body["items"][-1]
    assert hefei == {"code": "hefei", "name": "合肥", "name_en": "Hefei", "province": "安徽省",
                     "instrument_count": 2}


def test_chinese_is_not_escaped(client, corridor):
    raw = client.get("/api/v1/cities").get_data(as_text=True)
    assert "松江" in raw and "\\u" not in raw


def test_institutions_by_city(client, corridor):
    body = client.get("/api/v1/institutions?city=hefei").json
    assert body["items"] == [{"id": corridor["ustc"].id, "name": "中国科学技术大学",
                              "name_en": "University of Science and Technology of China",
                              "city": "hefei", "instrument_count": 2}]
    assert client.get("/api/v1/institutions").json["total"] == 2
    bad = client.get("/api/v1/institutions?city=nowhere")
    assert bad.status_code == 422 and "city" in bad.json["fields"]


def test_categories(client):
    body = client.get("/api/v1/categories?per_page=100").json
    assert body["total"] == 27
    codes = {c["code"]: c for c in body["items"]}
    assert codes["analytical-mass-spectrometry"]["name"] == "质谱仪器"
    assert codes["analytical-mass-spectrometry"]["parent"] == "analytical"
    assert codes["laser"]["name_en"] == "Lasers"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=质谱", {"lcms", "icpms"}),
        ("q=质谱联用", {"lcms"}),
        ("q=MASS", {"lcms", "icpms"}),
        ("q=zeiss", {"sem"}),
        ("q=d8", {"xrd"}),
        ("q=esi", {"lcms"}),
        ("q=mass agilent", {"icpms"}),
        ("city=hefei", {"lcms", "ct"}),
        ("category=analytical", {"lcms", "icpms", "sem", "xrd"}),
        ("category=analytical-x-ray", {"xrd"}),
        ("accepts_vouchers=false", {"icpms"}),
        ("max_rate=350", {"icpms", "xrd"}),
        ("max_rate=350.00&city=hangzhou&q=质谱", {"icpms"}),
        ("q=100%25", {"ct"}),
        ("q=%25", set()),  # no word in it: a query only narrows, so it finds nothing
        ("q=_", set()),
        ("q=v|tome", {"ct"}),
    ],
)
def test_search_filters(client, corridor, query, expected):
    assert ids(client.get(f"/api/v1/instruments?{query}")) == {corridor[k].id for k in expected}


def test_search_by_institution(client, corridor):
    found = ids(client.get(f"/api/v1/instruments?institution={corridor['ustc'].id}"))
    assert found == {corridor["lcms"].id, corridor["ct"].id}


@pytest.mark.parametrize(
    "text",
    ["'", '"', "%%", "\\", "' OR 1=1 --", "'; DROP TABLE instruments; --", "🔬🧪", "x" * 5000,
     "质谱" * 300, "<script>alert(1)</script>", "质谱\u0000"],
)
def test_odd_text_gives_a_normal_result(client, corridor, text):
    response = client.get("/api/v1/instruments", query_string={"q": text})
    assert response.status_code == 200
    # A word repeated is one term: 质谱 three hundred times finds what 质谱 finds.
    expected = 2 if text in ("质谱\u0000", "质谱" * 300) else 0
    assert response.json["total"] == expected
    assert client.get("/api/v1/instruments").json["total"] == 5


def test_sort_and_pagination(client, corridor):
    body = client.get("/api/v1/instruments?sort=rate&per_page=2").json
    assert body["total"] == 5 and body["per_page"] == 2
    assert [i["hourly_rate"] for i in body["items"]] == ["200.00", "350.00"]
    page3 = client.get("/api/v1/instruments?sort=rate&per_page=2&page=3").json
    assert [i["hourly_rate"] for i in page3["items"]] == ["800.00"]
    assert client.get("/api/v1/instruments?page=99").json["items"] == []
    names = [i["name"] for i in client.get("/api/v1/instruments?sort=name").json["items"]]
    assert names == sorted(names)
    relevance = client.get("/api/v1/instruments?q=质谱").json["items"]
    assert relevance[0]["name"] == "电感耦合等离子体质谱仪" or relevance[0]["name"] == "液相色谱-质谱联用仪"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("page=-1", "page"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=10000", "per_page"),
        ("per_page=0", "per_page"),
        ("city=nowhere", "city"),
        ("category=nothing", "category"),
        ("institution=999999", "institution"),
        ("institution=abc", "institution"),
        ("max_rate=-1", "max_rate"),
        ("max_rate=cheap", "max_rate"),
        ("max_rate=NaN", "max_rate"),
        ("sort=price", "sort"),
        ("accepts_vouchers=perhaps", "accepts_vouchers"),
    ],
)
def test_bad_parameters_are_422_with_fields(client, corridor, query, field):
    response = client.get(f"/api/v1/instruments?{query}")
    assert response.status_code == 422
    assert response.json["error"] == "validation"
    assert field in response.json["fields"]
    assert isinstance(response.json["message"], str)


def test_list_item_shape(client, corridor):
    item = client.get("/api/v1/instruments?q=GeminiSEM").json["items"][0]
    assert set(item.pop("next_free")) == {"start", "end"}  # tests/search: when exactly
    assert item == {
        "id": corridor["sem"].id, "name": "场发射扫描电子显微镜", "name_en": "Field emission SEM",
        "model": "GeminiSEM 500", "manufacturer": "Zeiss", "category": "analytical-electron-optics",
        "institution": {"id": corridor["zju"].id, "name": "浙江大学"}, "city": "hangzhou",
        "hourly_rate": "500.00", "requires_approval": True, "accepts_vouchers": True, "accepts_orders": True,
        "status": "normal", "travel_minutes": None,
    }


def test_instrument_detail(client, corridor):
    lcms = corridor["lcms"]
    lcms.original_value = Decimal("285.50")
    lcms.contact_name, lcms.contact_phone, lcms.contact_email = "王老师", "0551-63600000", "ms@ustc.example"
    db.session.commit()
    body = client.get(f"/api/v1/instruments/{lcms.id}").json
    assert body["original_value"] == "285.50"
    assert body["contact"] == {"name": "王老师", "phone": "0551-63600000", "email": "ms@ustc.example"}
    assert body["opening_hours"][0] == {"weekday": 0, "open": "09:00", "close": "17:00"}
    assert len(body["opening_hours"]) == 5
    for key in ("description", "specifications", "functions", "services", "sharing_rules",
                "country_of_origin", "commissioned_on", "location", "min_booking_minutes",
                "max_booking_minutes", "buffer_minutes", "advance_notice_hours"):
        assert key in body
    assert body["institution"] == {"id": corridor["ustc"].id, "name": "中国科学技术大学"}


def test_unknown_instrument_is_404_json(client):
    for url in ("/api/v1/instruments/999999", "/api/v1/instruments/0"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json["error"] == "not_found"
    assert client.get("/api/v1/instruments/abc").json["error"] == "not_found"
    assert client.get("/api/v1/nowhere").json["error"] == "not_found"


def test_wrong_method_is_json(client):
    response = client.delete("/api/v1/cities")
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"


def test_openapi_covers_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {
        (path, method.upper()) for path, ops in spec["paths"].items() for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    }
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/") and rule.endpoint != "api-docs.openapi_json":
            path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                routes.add((path, method))
    assert routes and routes <= documented
    assert set(spec["components"]["schemas"]["Error"]["properties"]) == {"error", "message", "fields"}


def test_free_search_takes_times_to_the_second(api, client, make, day):
    """A fraction of a second is dropped from client times, so the SQL
    comparisons stay exact: free until 10:00:00.3 is free until 10:00."""
    from ..booking.conftest import iso
    from ..booking.test_conflicts import book

    instrument = make.instrument(buffer_minutes=0)
    assert book(api.as_user(make.user()), instrument, iso(day, "10:00"), iso(day, "11:00")).status_code == 201
    def free(start, end):
        query = {"free_from": f"{day}T{start}+08:00", "free_to": f"{day}T{end}+08:00"}
        return [item["id"] for item in client.get("/api/v1/instruments", query_string=query).json["items"]]

    assert free("09:00:00", "10:00:00.300") == [instrument.id]
    assert free("09:00:00", "10:00:01") == []
    assert free("10:59:59.900", "12:00:00") == []
    assert free("11:00:00.000", "12:00:00") == [instrument.id]
