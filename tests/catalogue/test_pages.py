"""Catalogue pages, in Chinese first and in English by switch."""
from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture
def lab(make):
    inst = make.institution(name="中国科学技术大学", name_en="University of Science and Technology of China",
                            city_code="hefei")
    lcms = make.instrument(institution=inst, name="液相色谱-质谱联用仪",
                           name_en="Liquid chromatograph-mass spectrometer",
                           category_code="analytical-mass-spectrometry", model="LCMS-8060",
                           manufacturer="Shimadzu", hourly_rate=Decimal("400.00"),
                           specifications="分辨率 0.7 Da\n扫描速度 30000 u/s")
    return inst, lcms


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_home_shows_search_cities_and_categories(client, lab):
    html = page(client, "/")
    assert 'lang="zh-CN"' in html
    assert "在G60科创走廊查找并预约大型科研仪器" in html
    for city in ("松江", "嘉兴", "杭州", "金华", "苏州", "湖州", "宣城", "芜湖", "合肥"):
        assert city in html
    assert "1 台仪器" in html  # Hefei
    assert "分析仪器" in html and "质谱仪器" in html
    assert 'name="q"' in html


def test_english_switch(browser, client, lab):
    browser.english()
    html = page(client, "/")
    assert 'lang="en"' in html
    assert "Find and book large research instruments" in html
    assert "Hefei" in html and "Mass spectrometers" in html
    html = page(client, f"/instruments/{lab[1].id}")
    assert "Liquid chromatograph-mass spectrometer" in html and "Manufacturer" in html


def test_search_page_finds_chinese_substring(client, lab, make):
    make.instrument(name="场发射扫描电子显微镜", name_en="FE-SEM")
    html = page(client, "/search?q=质谱")
    assert "液相色谱-质谱联用仪" in html and "场发射扫描电子显微镜" not in html
    assert "找到 1 台仪器" in html
    html = page(client, "/search?q=sem")
    assert "场发射扫描电子显微镜" in html and "液相色谱-质谱联用仪" not in html


def test_search_page_filters_and_pagination(client, make):
    inst = make.institution(city_code="wuhu")
    for n in range(25):
        make.instrument(institution=inst, name=f"光谱仪{n:02d}", hourly_rate=Decimal(100 + n))
    html = page(client, "/search?city=wuhu&sort=rate")
    assert "找到 25 台仪器" in html
    assert "光谱仪00" in html and "光谱仪24" not in html
    assert "page=2" in html
    html = page(client, "/search?city=wuhu&sort=rate&page=2")
    assert "光谱仪24" in html and "光谱仪00" not in html
    html = page(client, "/search?city=wuhu&max_rate=101")
    assert "找到 2 台仪器" in html
    assert f'value="{inst.id}"' in html  # institutions of the chosen city are offered


@pytest.mark.parametrize(
    "query",
    ["city=nowhere", "max_rate=cheap", "page=-3", "page=abc", "category=xyz", "institution=abc",
     "q=%25%27%22", "sort=bogus", "q=" + "长" * 3000],
)
def test_search_page_bad_input_is_a_form_error_not_a_500(client, lab, query):
    response = client.get(f"/search?{query}")
    assert response.status_code == 200


def test_instrument_page_shows_full_record(client, lab):
    inst, lcms = lab
    html = page(client, f"/instruments/{lcms.id}")
    for text in ("液相色谱-质谱联用仪", "LCMS-8060", "Shimadzu", "规格型号", "生产制造商",
                 "主要技术指标", "分辨率 0.7 Da", "¥400.00", "开放时间", "周一 09:00–17:00",
                 "中国科学技术大学"):
        assert text in html, text


def test_institution_page(client, lab):
    inst, lcms = lab
    html = page(client, f"/institutions/{inst.id}")
    assert "中国科学技术大学" in html and "液相色谱-质谱联用仪" in html and "共享仪器 1 台" in html


def test_unknown_pages_are_friendly_404s(client):
    for url in ("/instruments/99999", "/institutions/99999", "/nowhere"):
        response = client.get(url)
        assert response.status_code == 404
        html = response.get_data(as_text=True)
        assert "找不到该页面" in html and "返回首页" in html


def test_user_text_is_escaped(client, make):
    make.instrument(name="<script>alert('x')</script>SEM", description="<img src=x onerror=alert(1)>")
    html = page(client, "/search?q=sem")
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert" in html


def test_security_headers_and_local_assets(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert "cdn" not in html.lower() and "https://" not in html
    assert "<script>" not in html  # no inline script anywhere
    with client.get("/bootstrap/static/css/bootstrap.min.css") as css:
        assert css.status_code == 200 and b"Bootstrap" in css.data[:200]


def test_narrow_screen_viewport(client):
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in page(client, "/")


def test_search_page_free_time_filter(client, make):
    from instrument_share.booking.models import Booking
    from instrument_share.extensions import db

    from ..booking.conftest import at, workday

    day = workday()
    busy = make.instrument(name="核磁共振波谱仪-忙")
    make.instrument(name="核磁共振波谱仪-闲")
    start = at(day, "10:00")
    db.session.add(Booking(instrument=busy, user=make.user(), start=start, end=at(day, "11:00"),
                           occupied_until=at(day, "11:00"), status="confirmed", purpose="x",
                           cost=0, firm_pays=0))
    db.session.commit()
    html = page(client, f"/search?q=核磁&free_from={day}T09:30&free_to={day}T10:30")
    assert "核磁共振波谱仪-闲" in html and "核磁共振波谱仪-忙" not in html
    html = page(client, f"/search?q=核磁&free_from={day}T09:30")
    assert "is-invalid" in html
    assert "is-invalid" in page(client, "/search?free_from=never&free_to=later")


def test_search_page_pages_through_results(client, make):
    institution = make.institution()
    for _ in range(21):
        make.instrument(institution=institution)
    first = client.get("/search?q=扫描").get_data(as_text=True)
    assert "1 / 2" in first and "page=2" in first
    second = client.get("/search?q=扫描&page=2").get_data(as_text=True)
    assert "2 / 2" in second and "page=1" in second
