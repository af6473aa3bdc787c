"""QR codes of a session's join URL (segno: pure Python, SVG and PNG without image libraries).
Error correction M survives a projector's glare; the border is the standard quiet zone."""
from __future__ import annotations

import io

import segno


def qr_svg(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True,
                                    title="Join code", dark="#000", light="#fff")
    return out.getvalue()


def qr_png(url: str, scale: int = 8) -> bytes:
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=scale, border=4)
    return out.getvalue()
