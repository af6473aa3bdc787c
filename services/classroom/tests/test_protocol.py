"""The WebSocket protocol document: asyncapi.yaml is what live/schemas.py generates, and every
frame type the service publishes or replies with is in it (the live tests validate every frame
they receive against the same models: conftest.conforms)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from services.classroom.live import asyncapi
from services.classroom.live.schemas import SERVER_FRAMES

SERVICE = Path(__file__).resolve().parents[1]


def test_asyncapi_is_fresh() -> None:
    assert asyncapi.OUT.read_text() == asyncapi.render(), \
        "asyncapi.yaml is stale: run python -m services.classroom.live.asyncapi"
    doc = yaml.safe_load(asyncapi.OUT.read_text())
    assert doc["asyncapi"].startswith("3.") and set(SERVER_FRAMES) <= set(doc["channels"]["live"]["messages"])


def test_every_frame_type_sent_is_documented() -> None:
    sent: set[str] = set()
    for path in SERVICE.rglob("*.py"):
        if "tests" in path.parts:
            continue
        source = path.read_text()
        sent |= set(re.findall(r'\.publish\([^,]+,\s*"([a-z_]+)"', source))
        sent |= set(re.findall(r'Reply\("([a-z_]+)"', source))
    assert sent, "found no frames"
    assert sent <= set(SERVER_FRAMES), sorted(sent - set(SERVER_FRAMES))
