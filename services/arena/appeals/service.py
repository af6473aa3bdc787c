"""Grade appeals: a player appeals a wrong or partly right answer of a finished match; a moderator
upholds the grade or overturns it. An overturned grade changes the answer (grader 'appeal') and
the seat's score; in a rated match whose result it turns (a loss into a draw or win, a draw into
a win) the player gets the rating difference back — what Glicko-2 would have given for the better
result from the same pre-match ratings, once per topic (`rating_changes` reason 'appeal'). The
opponent keeps its rating, as Lichess refunds victims without charging anyone."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity import glicko2
from megacity.audit import record_audit
from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.glicko2 import Rating
from megacity.runtime import Resources
from services.arena.appeals import queries
from services.arena.appeals.queries import AnsweredRow, AppealRow
from services.arena.fairplay.service import moderated_org
from services.arena.live.service import publish_to_user
from services.arena.matches import bots
from services.arena.permissions import MODERATE
from services.arena.ratings import changes
from services.arena.ratings import queries as ratings
from services.arena.ratings.changes import RatingChange
from services.arena.settings import ArenaSettings

NOT_FOUND = (404, "arena.not_found", "No answer of yours in this match and round")
NOT_APPEALABLE = (409, "arena.not_appealable", "Only a wrong or partly right answer of a finished match")
EXISTS = (409, "arena.appeal_exists", "This answer was appealed already")
APPEAL_NOT_FOUND = (404, "arena.appeal_not_found", "No such appeal that you moderate")
DECIDED = (409, "arena.appeal_decided", "The appeal was decided already")
NOT_BETTER = (422, "arena.invalid_decision", "An overturned grade must be better than the one it replaces")
RATINGS_PENDING = (409, "arena.ratings_pending", "The match's ratings are still being applied; decide in a moment")
SCORE = {"win": 1.0, "draw": 0.5, "loss": 0.0}
NEW_SCORE = {"correct": 1.0, "partial": 0.5}


@dataclass(frozen=True, slots=True)
class Decided:
    appeal: AppealRow
    verdict: str | None  # the new grade when overturned
    refunds: list[RatingChange]


async def appeal(res: Resources, principal: Principal, match_id: uuid.UUID, round_no: int, reason: str) -> AppealRow:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await queries.answered(s, match_id, round_no, user_id=principal.user_id)
        if row is None:
            raise AppError(404, "arena.not_found", f"you gave no answer in round {round_no} of match {match_id}")
        if row.status != "finished" or row.verdict not in ("wrong", "partial"):
            raise AppError(409, "arena.not_appealable",
                           f"a {row.verdict} answer of a {row.status} match cannot be appealed")
        created = await queries.insert(s, principal.zone_id, row, principal.user_id, reason)
        if created is None:
            raise AppError(409, "arena.appeal_exists", "this answer was appealed already")
        return created


async def list_appeals(res: Resources, principal: Principal, status: str | None, limit: int) -> list[AppealRow]:
    """A moderator's appeals to decide (an org admin's: its org's players); a player's own."""
    moderator = principal.can(MODERATE)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return await queries.list_appeals(s, principal.zone_id, user_id=None if moderator else principal.user_id,
                                          org_id=moderated_org(principal) if moderator else None, status=status,
                                          limit=limit)


def _outcome(row: AnsweredRow, seat_score: int) -> str | None:
    """The seat's result with its corrected score (a forfeit stays what it was)."""
    if row.end_reason != "completed" or row.outcome is None:
        return row.outcome
    return "win" if seat_score > row.other_score else "draw" if seat_score == row.other_score else "loss"


async def _refund(s: AsyncSession, zone_id: int, row: AnsweredRow, better: str, settings: ArenaSettings
                  ) -> list[RatingChange]:
    """The rating difference of the better result, per topic the match changed."""
    assert row.user_id is not None and row.outcome is not None
    applied = await ratings.changes_of_match(s, row.match_id)
    out = []
    for mine in (c for c in applied if c.user_id == row.user_id):
        before = Rating(mine.rating_before, mine.rd_before, mine.volatility_before)
        opp = next((Rating(c.rating_before, c.rd_before, c.volatility_before) for c in applied
                    if c.user_id != row.user_id and c.topic == mine.topic), Rating())
        gained = glicko2.after_match(before, opp, SCORE[better], max_change=settings.rating_change_cap).rating - \
            glicko2.after_match(before, opp, SCORE[row.outcome], max_change=settings.rating_change_cap).rating
        change = await changes.adjust(s, zone_id, row.match_id, row.user_id, mine.topic, gained, "appeal")
        if change is not None:
            out.append(change)
    return out


async def _overturn(s: AsyncSession, zone_id: int, a: AppealRow, verdict: str, feedback: str,
                    settings: ArenaSettings) -> list[RatingChange]:
    row = await queries.answered(s, a.match_id, a.round_no, seat=a.seat, lock=True)
    assert row is not None  # appeals cascade with their answer
    if NEW_SCORE[verdict] <= row.score:
        raise AppError(422, "arena.invalid_decision", f"the answer is {row.verdict} already; overturn to better")
    if row.rated and not row.ratings_applied:  # no change to refund yet: the result would stay unturned
        raise AppError(*RATINGS_PENDING)
    points = bots.points(NEW_SCORE[verdict], row.elapsed_ms, row.round_seconds * 1000, row.round_no == row.round_count)
    await queries.regrade(s, a.match_id, a.round_no, a.seat, verdict, NEW_SCORE[verdict], points, feedback)
    better = _outcome(row, row.seat_score + points - row.points)
    if not row.rated or better is None or row.outcome is None or SCORE[better] <= SCORE[row.outcome]:
        return []
    refunds = await _refund(s, zone_id, row, better, settings)
    await changes.record_events(s, zone_id, refunds)
    return refunds


async def decide(res: Resources, principal: Principal, appeal_id: uuid.UUID, decision: str, verdict: str,
                 feedback: str) -> Decided:
    settings: ArenaSettings = res.settings  # type: ignore[assignment]
    org = moderated_org(principal)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        a = await queries.get(s, appeal_id, lock=True)
        if a is None or (org is not None and await queries.org_of_player(s, principal.zone_id, a.user_id) != org):
            raise AppError(404, "arena.appeal_not_found", f"no appeal {appeal_id} that you moderate")
        if a.status != "open":
            raise AppError(409, "arena.appeal_decided", f"appeal {appeal_id} was {a.status} already")
        current = await queries.answered(s, a.match_id, a.round_no, seat=a.seat)
        assert current is not None  # appeals cascade with their answer
        refunds = await _overturn(s, principal.zone_id, a, verdict, feedback, settings) \
            if decision == "overturned" else []
        decided = await queries.decide(s, appeal_id, decision, principal.user_id)
        player_org = org if org is not None else await queries.org_of_player(s, principal.zone_id, a.user_id)
        await record_audit(s, schema="arena", actor=principal, zone_id=principal.zone_id, org_id=player_org,
                           target_type="appeal", target_id=appeal_id, action=f"arena.appeal.{decision}",
                           before={"status": "open", "verdict": current.verdict},
                           after={"status": decision, "verdict": verdict if decision == "overturned" else None,
                                  "match_id": str(a.match_id), "round": a.round_no, "refunds": len(refunds)})
    new = verdict if decision == "overturned" else None
    await publish_to_user(res, principal.zone_id, a.user_id, "grade_update", {
        "match_id": str(a.match_id), "round": a.round_no, "seat": a.seat, "appeal": decision,
        "verdict": new or current.verdict, "score": NEW_SCORE[new] if new else current.score, "feedback": feedback})
    await changes.publish(res, principal.zone_id, refunds)
    return Decided(decided, new, refunds)
