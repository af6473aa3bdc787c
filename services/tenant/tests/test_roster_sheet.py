"""The printable activation sheet (issue #13 §2): one card per person, every roster value
HTML-escaped, a QR code per card that is exactly `qrcode`'s SVG of the person's activation URL,
print CSS with page breaks and nothing fetched from elsewhere; the app origin of the QR links
follows the caller's zone. (The endpoint, taken once with the CSV, is in test_roster_provision.py.)"""
from __future__ import annotations

import html
import re
import urllib.parse

import pytest
import qrcode
import qrcode.constants
from qrcode.image.svg import SvgPathImage

from megacity.errors import AppError
from services.tenant.roster_import.service import app_origin
from services.tenant.roster_import.sheet import CARDS_PER_PAGE, SheetRow, activation_url, render_html

ORIGIN = "https://app.univprepai.com"
CARD = re.compile(r'<section class="card (student|parent)">(.*?)</section>', re.S)
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


def expected_svg(login_id: str, code: str) -> str:
    """qrcode's own SVG for the activation URL, made here independently of sheet.py."""
    url = f"{ORIGIN}/activate#login={urllib.parse.quote(login_id, safe='')}&code={urllib.parse.quote(code, safe='')}"
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, image_factory=SvgPathImage)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image().to_string(encoding="unicode")


def _rows() -> list[SheetRow]:
    hostile = '<script>alert("x")</script>'
    rows = [SheetRow("student", f"Student {i:02d}", 1 + i % 3, f"{1 + i % 3}-A", None, f"s{i}@roster.invalid",
                     f"AAAA{i % 10}-BBBBB", 1_775_000_000) for i in range(12)]
    rows += [SheetRow("student", hostile, 2, '"><img src=x onerror=alert(1)>', None, "kim&lee@example.com",
                      "CCCCC-DDDDD", 1_775_000_000),
             SheetRow("parent", "Parent of 김민지 & <b>Co</b>", None, None, "김민지, O'Brien <i>", "mom@example.com",
                      "EEEEE-FFFFF", 1_775_000_000)]
    return rows


def test_every_person_gets_a_card_with_escaped_values_and_the_qr_of_its_activation_url() -> None:
    rows = _rows()
    page = render_html(rows, ORIGIN)
    cards = CARD.findall(page)
    assert len(cards) == len(rows)
    for row, (role, card) in zip(rows, cards, strict=True):
        assert role == row.role
        assert f"<h2>{html.escape(row.name)}</h2>" in card
        assert f"<dd>{html.escape(row.login_id)}</dd>" in card
        assert f'<dd class="code">{row.code}</dd>' in card
        svgs = SVG.findall(card)
        assert svgs == [expected_svg(row.login_id, row.code)]
    # Hostile names, classes and children are text, never markup.
    assert "<script" not in page and "<img" not in page and "<b>Co</b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "grade 2, class &quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "<dd>김민지, O&#x27;Brien &lt;i&gt;</dd>" in page
    assert "<dd>kim&amp;lee@example.com</dd>" in page


def test_the_page_prints_in_pages_of_cards_and_fetches_nothing() -> None:
    rows = _rows()
    page = render_html(rows, ORIGIN)
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    pages = re.findall(r'<div class="page">(.*?)</div>(?=<div class="page">|</body>)', page, re.S)
    assert [len(CARD.findall(p)) for p in pages] == [CARDS_PER_PAGE, CARDS_PER_PAGE, 2]
    assert "@page" in page and "break-after: page" in page and "break-inside: avoid" in page
    # No external assets: no scripts, links, images, imports or urls to load.
    for needle in ("<script", "<link", "<img", "<iframe", "@import", "url(", "src=", "href="):
        assert needle not in page.replace("&lt;", "").replace("src=x", ""), needle
    # The only http(s) addresses are the SVG namespace and the app's own origin.
    assert set(re.findall(r"https?://[^\s\"<)]+", page)) == {"http://www.w3.org/2000/svg", ORIGIN + "/activate"}


def test_activation_url_carries_login_and_code_in_the_fragment_never_the_query() -> None:
    """The one-time code rides in the fragment (never sent to a server: no access log, no Referer)."""
    url = activation_url(ORIGIN, "kim+lee@example.com", "AB CD&E")
    assert url == f"{ORIGIN}/activate#login=kim%2Blee%40example.com&code=AB+CD%26E"
    parts = urllib.parse.urlsplit(url)
    assert parts.path == "/activate" and parts.query == ""
    assert urllib.parse.parse_qs(parts.fragment) == {"login": ["kim+lee@example.com"], "code": ["AB CD&E"]}


def test_app_origin_is_the_zone_domain_the_request_came_in_on() -> None:
    assert app_origin(1, "api.univprepai.com") == "https://app.univprepai.com"
    assert app_origin(1, "API.UnivPrepAI.com:443") == "https://app.univprepai.com"
    assert app_origin(2, "api.univprepai.com") == "https://app.collegeprepai.com"  # another zone's host
    assert app_origin(9, None) == "https://app.dreamseedai.com"
    with pytest.raises(AppError) as err:
        app_origin(999, "api.univprepai.com")
    assert err.value.status == 503 and err.value.code == "roster_provision.zone_unknown"
