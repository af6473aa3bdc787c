"""Arena players over HTTP (real PostgreSQL): a profile made on first contact with a generated
nickname, nickname rules (unique in the zone ignoring case and width), public profiles across
schools of one zone but not across zones, the tiers, and who may play."""
from __future__ import annotations

import asyncio
import uuid

from services.arena.tests.conftest import OTHER_ZONE, ArenaApp


async def test_first_call_makes_a_profile_once(arena: ArenaApp) -> None:
    a = arena.actor()
    first, second = await asyncio.gather(arena.ok("GET", "/api/v1/arena/me", a), arena.ok("GET", "/api/v1/arena/me", a))
    assert first["user_id"] == second["user_id"] == str(a.user_id) and first["nickname"] == second["nickname"]
    assert 2 <= len(first["nickname"]) <= 20 and first["avatar"] == "default"
    assert (first["wins"], first["losses"], first["draws"], first["xp"]) == (0, 0, 0, 0)
    assert first["tier"]["name"] == "Gold" and first["tier_points"] == 1500 and first["ratings"] == []


async def test_nicknames_are_unique_in_the_zone_ignoring_case_and_width(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor(org=arena.org_b)
    me = await arena.ok("PATCH", "/api/v1/arena/me", a, json={"nickname": "  Mina   Kim ", "avatar": "fox"})
    assert (me["nickname"], me["avatar"]) == ("Mina Kim", "fox")
    await arena.fails("PATCH", "/api/v1/arena/me", b, 409, "arena.nickname_taken", json={"nickname": "ＭＩＮＡ kim"})
    await arena.fails("PATCH", "/api/v1/arena/me", b, 422, "arena.nickname_invalid", json={"nickname": "x"})
    await arena.fails("PATCH", "/api/v1/arena/me", b, 422, "arena.nickname_invalid", json={"nickname": "a\u200bb"})
    await arena.fails("PATCH", "/api/v1/arena/me", b, 422, "arena.nickname_invalid", json={"nickname": "Admin"})
    other_zone = arena.actor(zone_id=OTHER_ZONE)
    assert (await arena.ok("PATCH", "/api/v1/arena/me", other_zone, json={"nickname": "mina kim"}))["nickname"] == \
        "mina kim"
    assert (await arena.ok("PATCH", "/api/v1/arena/me", a, json={"nickname": "MINA KIM"}))["nickname"] == "MINA KIM"


async def test_public_profiles_within_the_zone_only(arena: ArenaApp) -> None:
    a, b = arena.actor(), arena.actor("teacher", arena.org_b)
    await arena.ok("PATCH", "/api/v1/arena/me", a, json={"nickname": "Visible"})
    seen = await arena.ok("GET", f"/api/v1/arena/players/{a.user_id}", b)
    assert seen["nickname"] == "Visible" and "xp" not in seen
    await arena.fails("GET", f"/api/v1/arena/players/{a.user_id}", arena.actor(zone_id=OTHER_ZONE), 404,
                      "arena.player_not_found")
    await arena.fails("GET", f"/api/v1/arena/players/{uuid.uuid4()}", b, 404, "arena.player_not_found")


async def test_tiers_and_permissions(arena: ArenaApp) -> None:
    tiers = (await arena.ok("GET", "/api/v1/arena/tiers", arena.actor()))["items"]
    assert [t["name"] for t in tiers] == ["Bronze", "Silver", "Gold", "Platinum", "Diamond", "Master", "Grandmaster",
                                          "Challenger"]
    assert all(x["max_points"] + 1 == y["min_points"] for x, y in zip(tiers, tiers[1:], strict=False))
    await arena.fails("GET", "/api/v1/arena/me", arena.actor("parent"), 403, "auth.permission_denied")
    await arena.fails("GET", "/api/v1/arena/me", None, 401, "auth.token_missing")
