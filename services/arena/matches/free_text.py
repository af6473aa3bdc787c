"""Free-text answers, graded after the fact by the LLM (grading.llm, inference's `Generate`).

An answer to a free-text question is stored `pending` with 0 points, so the round never waits
for the model. Right after the commit the replica that took it asks the grader (never inside a
database transaction), then, in one transaction under the match's lock, stores the verdict if the
answer is still pending, adds its points to the seat if the round has closed (an open round adds
its answers' points when it closes: counting them here too would count them twice),
puts a wrong answer's feedback into the player's notebook, and pushes `grade_update`. A Redis
claim per answer keeps two replicas from grading one answer; the sweeper re-claims answers left
pending (the grader was down, or the replica died) once the claim expires. A match's outcome is
decided when it ends, from the points known then."""
from __future__ import annotations

import uuid

from megacity.db import TenantContext, tenant_transaction
from megacity.errors import AppError
from megacity.runtime import Resources
from megacity.telemetry.logs import get_logger
from services.arena.grading import llm
from services.arena.live import service as live
from services.arena.matches import bots
from services.arena.matches import queries as q
from services.arena.notebook import service as notebook

log = get_logger("arena.matches")
CLAIM_SECONDS = 300  # one grading attempt per answer at most this often
RETRY_SECONDS = 60  # after the grader failed


def _claim_key(res: Resources, zone_id: int, match_id: uuid.UUID, round_no: int, seat: int) -> str:
    return res.keys.zone(zone_id, "arena", "grading", match_id, round_no, seat)


async def grade_pending(res: Resources, zone_id: int, match_id: uuid.UUID, round_no: int, seat: int) -> None:
    """Grade one pending answer (module doc); a no-op when another replica holds the claim."""
    key = _claim_key(res, zone_id, match_id, round_no, seat)
    if not await res.redis.set(key, "1", nx=True, ex=CLAIM_SECONDS):
        return
    ctx = TenantContext(zone_id=zone_id, role="zone_admin")
    async with tenant_transaction(res.db(), ctx) as s:
        found = await q.round_with_question(s, match_id, round_no)
        given = next((a for a in await q.answers(s, match_id, round_no) if a.seat == seat), None)
        if found is None or given is None or given.verdict != "pending":
            return
        examples = await llm.examples_for(s, zone_id, found[1].id)
    try:
        verdict = await llm.grade_free_text(res, found[1], given.answer, examples)
    except AppError as exc:
        await res.redis.expire(key, RETRY_SECONDS)
        log.warning("free-text grading deferred", extra={"match_id": str(match_id), "error": exc.code})
        return
    if verdict.verdict == "pending":  # the model gave no verdict: a person decides (appeal)
        return
    async with tenant_transaction(res.db(), ctx) as s:
        m = await q.lock_match(s, match_id)
        if m is None:
            return
        pts = bots.points(verdict.score, given.elapsed_ms, m.round_seconds * 1000, round_no == m.round_count)
        stored = await q.grade_answer(s, match_id, round_no, seat, verdict.verdict, verdict.score, pts,
                                      verdict.rubric_hits, verdict.feedback)
        if not stored:
            return
        played = await q.round_of(s, match_id, round_no)
        if played is not None and played.closed_at is not None:  # an open round counts it when it closes
            await q.add_scores(s, match_id, [seat], [pts], [int(verdict.verdict == "correct")])
        # a finished match has filed its wrong answers already; an active one files this at its end
        if given.user_id is not None and verdict.verdict == "wrong" and m.status != "active":
            await notebook.record_wrong(s, zone_id, given.user_id, found[1].id, match_id=match_id,
                                        answer=given.answer, feedback=verdict.feedback)
    if given.user_id is not None:
        await live.publish_to_user(res, zone_id, given.user_id, "grade_update", {
            "match_id": str(match_id), "round": round_no, "seat": seat, "verdict": verdict.verdict,
            "score": verdict.score, "points": pts, "feedback": verdict.feedback, "rubric_hits": verdict.rubric_hits})
