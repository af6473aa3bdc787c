"""Small steps the live-session tests share: start a session, join, make a problem, drain frames."""
from __future__ import annotations

from typing import Any

from services.classroom.tests.conftest import Actor, ClassroomApp, LiveClient, School


async def start(app: ClassroomApp, school: School, **opts: Any) -> dict[str, Any]:
    return dict(await app.ok("POST", "/api/v1/classroom/sessions", school.teacher, 201,
                             json={"class_id": school.class_id, **opts}))


async def join(app: ClassroomApp, code: str, nickname: str, avatar: str = "fox", status: int = 201) -> dict[str, Any]:
    return dict(await app.ok("POST", f"/api/v1/classroom/join/{code}", None, status,
                             json={"nickname": nickname, "avatar": avatar}))


async def problem(app: ClassroomApp, who: Actor, **fields: Any) -> dict[str, Any]:
    body = {"type": "math", "difficulty": 2, "grade": 5, "prompt": "1/2 + 1/4 = ?", "answer": "3/4", **fields}
    return dict(await app.ok("POST", "/api/v1/classroom/problems", who, 201, json=body))


async def show(app: ClassroomApp, school: School, session: dict[str, Any], problem_id: str,
               **opts: Any) -> dict[str, Any]:
    return dict(await app.ok("POST", f"/api/v1/classroom/sessions/{session['id']}/cards", school.teacher, 201,
                             json={"problem_id": problem_id, **opts}))


async def quiet(client: LiveClient, seconds: float = 0.4) -> list[dict[str, Any]]:
    """Every frame that arrives within `seconds` (to prove something did NOT arrive)."""
    got: list[dict[str, Any]] = []
    try:
        while True:
            got.append(await client.recv(timeout=seconds))
    except TimeoutError:
        return got
