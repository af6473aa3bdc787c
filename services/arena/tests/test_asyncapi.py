"""The WebSocket protocol document: asyncapi.yaml is what live/schemas.py generates, and every
frame type any arena feature publishes or replies with is in it (the live tests validate every
frame they receive against the same models: conftest.conforms)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.arena.live import asyncapi
from services.arena.live.routes import FRAME_ERRORS
from services.arena.live.schemas import SERVER_FRAMES

SERVICE = Path(__file__).resolve().parents[1]
SENT = (r'publish_to_user\([^)]*?,\s*"([a-z_]+)"',  # live.service.publish_to_user(res, zone, user, "type", ...)
        r'to_humans\([^,]+,\s*"([a-z_]+)"',  # the match engine's Effects
        r'frames\.append\(\([^,]+,\s*"([a-z_]+)"',
        r'Reply\("([a-z_]+)"')


def test_asyncapi_is_fresh() -> None:
    assert asyncapi.OUT.read_text() == asyncapi.render(), \
        "asyncapi.yaml is stale: run python -m services.arena.live.asyncapi"
    doc = yaml.safe_load(asyncapi.OUT.read_text())
    assert doc["asyncapi"].startswith("3.") and set(SERVER_FRAMES) <= set(doc["channels"]["live"]["messages"])
    assert doc["channels"]["live"]["address"] == "/api/v1/arena/ws"
    documented = doc["channels"]["live"]["messages"]["error"]["description"]
    assert all(f"`{code}`" in documented for status, code, _ in FRAME_ERRORS if status != 426)


def test_every_frame_type_sent_is_documented() -> None:
    sent: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        source = path.read_text()
        for pattern in SENT:
            sent |= set(re.findall(pattern, source, flags=re.S))
    assert {"match_found", "round_start", "round_result", "match_result", "answer_ack"} <= sent, sent
    assert sent <= set(SERVER_FRAMES), sorted(sent - set(SERVER_FRAMES))
