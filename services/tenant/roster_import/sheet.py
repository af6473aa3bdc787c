"""The activation sheet: one row per provisioned person with a waiting code, as CSV (what a
school mail-merges) or as a printable HTML page of cards with a QR code each (what it hands
out). Codes are shown once (`service.activation_sheet`): the format is chosen when they are
taken, and either one holds all of them.

The HTML page is self-contained — inline CSS, each QR an inline SVG made by `qrcode`'s SVG path
factory (no Pillow, no images, scripts or fonts to fetch) — and every roster value in it is
HTML-escaped: names come from an uploaded workbook."""
from __future__ import annotations

import csv
import datetime as dt
import html
import io
import urllib.parse
from dataclasses import dataclass

# qrcode ships no type information (no py.typed); the three names used here are checked by the tests.
import qrcode  # type: ignore[import-untyped]
import qrcode.constants  # type: ignore[import-untyped]
from qrcode.image.svg import SvgPathImage  # type: ignore[import-untyped]

COLUMNS = ("role", "name", "grade", "class", "children", "login_id", "code", "expires_at")


@dataclass(frozen=True)
class SheetRow:
    role: str  # student or parent
    name: str
    grade: int | None
    class_name: str | None
    children: str | None  # a parent's children, by name
    login_id: str
    code: str
    expires_at: int  # unix seconds


def _safe(value: str) -> str:
    """No spreadsheet formulas from names (CSV injection: a cell starting =, +, - or @)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(rows: list[SheetRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        expires = dt.datetime.fromtimestamp(r.expires_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        writer.writerow([r.role, _safe(r.name), r.grade if r.grade is not None else "", _safe(r.class_name or ""),
                         _safe(r.children or ""), r.login_id, r.code, expires])
    return "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 (Korean names) correctly


CARDS_PER_PAGE = 6  # 2 x 3 cards of 85 x 80 mm on an A4 page


def activation_url(app_origin: str, login_id: str, code: str) -> str:
    """Where the QR code leads: the app's activation page with login id and code filled in. They
    ride in the fragment, which browsers never send: a one-time code must not reach access logs
    or a Referer (the page reads it, then drops it from the address bar)."""
    return f"{app_origin}/activate#" + urllib.parse.urlencode({"login": login_id, "code": code})


def qr_svg(data: str) -> str:
    """`data` as a QR code, an `<svg>` element (medium error correction: survives a crease)."""
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4,
                       image_factory=SvgPathImage)
    qr.add_data(data)
    qr.make(fit=True)
    svg = qr.make_image().to_string(encoding="unicode")
    return svg if isinstance(svg, str) else svg.decode()


_CSS = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { margin: 0; font-family: system-ui, -apple-system, "Segoe UI", "Malgun Gothic", sans-serif; color: #000; }
header { margin: 0 0 4mm; font-size: 10pt; }
.page { display: grid; grid-template-columns: 1fr 1fr; gap: 5mm; break-after: page; page-break-after: always; }
.page:last-of-type { break-after: auto; page-break-after: auto; }
.card { border: 1px dashed #555; border-radius: 3mm; padding: 4mm; height: 82mm; display: flex; gap: 3mm;
        break-inside: avoid; page-break-inside: avoid; }
.card .qr svg { width: 36mm; height: 36mm; display: block; }
.card .who { min-width: 0; font-size: 10pt; overflow-wrap: anywhere; }
.card h2 { font-size: 13pt; margin: 0 0 2mm; }
.card dl { margin: 0; } .card dt { font-size: 8pt; color: #444; margin-top: 1.5mm; } .card dd { margin: 0; }
.card .code { font: bold 14pt ui-monospace, "Cascadia Mono", Consolas, monospace; letter-spacing: .5mm; }
.card .url { font-size: 7pt; color: #444; margin-top: 2mm; }
@media screen { body { padding: 10mm; background: #eee; } .page { background: #fff; padding: 5mm;
                margin-bottom: 10mm; } }
"""


def _card(r: SheetRow, app_origin: str) -> str:
    e = html.escape
    url = activation_url(app_origin, r.login_id, r.code)
    expires = dt.datetime.fromtimestamp(r.expires_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if r.role == "student":
        where = ", ".join(part for part in (f"grade {r.grade}" if r.grade is not None else "",
                                            f"class {r.class_name}" if r.class_name else "") if part)
        detail = f"<dt>Class</dt><dd>{e(where) or '—'}</dd>"
    else:
        detail = f"<dt>Parent of</dt><dd>{e(r.children or '—')}</dd>"
    return (f'<section class="card {e(r.role)}"><div class="qr">{qr_svg(url)}</div><div class="who">'
            f"<h2>{e(r.name)}</h2><dl><dt>Role</dt><dd>{e(r.role)}</dd>{detail}"
            f"<dt>Login id</dt><dd>{e(r.login_id)}</dd>"
            f'<dt>Activation code</dt><dd class="code">{e(r.code)}</dd>'
            f"<dt>Use by</dt><dd>{e(expires)}</dd></dl>"
            f'<div class="url">Scan the code, or open {e(app_origin)}/activate</div></div></section>')


def render_html(rows: list[SheetRow], app_origin: str, title: str = "Activation codes") -> str:
    """A printable page of cards (see module doc); `app_origin` is `https://app.<zone domain>`."""
    pages = ["".join(_card(r, app_origin) for r in rows[i:i + CARDS_PER_PAGE])
             for i in range(0, len(rows), CARDS_PER_PAGE)]
    body = "".join(f'<div class="page">{p}</div>' for p in pages)
    return ("<!DOCTYPE html>\n"
            f'<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<style>{_CSS}</style></head><body>"
            f"<header>{html.escape(title)} — {len(rows)} people. Each code works once; keep this page private "
            "and destroy it after handing the cards out.</header>"
            f"{body}</body></html>\n")
