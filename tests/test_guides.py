"""The guides for firms and institutions (issue #19): prose, one template
per language, chosen by the page's language like every other page; their
links lead to pages that exist, and the footer of every page reaches them."""
from __future__ import annotations

import re

import pytest

GUIDES = {
    "/guide/firms": {"zh_CN": "企业使用指南", "en": "Guide for firms"},
    "/guide/institutions": {"zh_CN": "机构使用指南", "en": "Guide for institutions"},
}


def _heading(html: str) -> str:
    return re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S).group(1).strip()


@pytest.mark.parametrize("path", GUIDES)
def test_a_chinese_reader_gets_the_chinese_guide(client, path):
    html = client.get(path, headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert _heading(html) == GUIDES[path]["zh_CN"]
    assert "Guide for" not in html


@pytest.mark.parametrize("path", GUIDES)
def test_an_english_reader_gets_the_english_guide(client, browser, path):
    # The platform is Chinese first: English is the reader's choice on the
    # language switch (web.select_locale), which the guides follow.
    browser.english()
    response = client.get(path, headers={"Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _heading(html) == GUIDES[path]["en"]
    assert "使用指南" not in html


@pytest.mark.parametrize("path", GUIDES)
def test_every_link_of_a_guide_leads_to_a_page(client, path):
    html = client.get(path).get_data(as_text=True)
    article = html[html.index("<article"):html.index("</article>")]
    links = set(re.findall(r'href="(/[^"]*)"', article))
    assert len(links) >= 8
    for link in sorted(links):
        # Pages for the signed-in send a stranger to sign in; none is missing.
        assert client.get(link).status_code in (200, 302), link


def test_the_footer_links_the_guides_and_the_api_page(client):
    html = client.get("/login").get_data(as_text=True)
    footer = html[html.index("<footer"):html.index("</footer>")]
    for path in ("/guide/firms", "/guide/institutions", "/api/docs"):
        assert f'href="{path}"' in footer
