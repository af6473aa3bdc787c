"""Fair play, as Lichess watches rated games:

- sandbagging/boosting: after each rated result, the loser's last `fairplay_window` (7) rated
  results are searched for quick losses to this same winner — 3 raise a warning, 4 a flag, on both
  accounts (the loser sandbagging, the winner boosting);
- a provisional winner's quick win over a related account (same org, or same client address) is
  left unrated (`should_rate`, asked before the rating is applied);
- answer timing: correct answers faster than a human reads (< `fairplay_min_answer_ms` after the
  round starts), or near-constant answer times over a match, are flagged for review;
- a moderator's cheater mark refunds every opponent the rating it lost to that account (once:
  `rating_changes` reason 'refund') and takes the account off the leaderboards.
"""
from __future__ import annotations

import statistics
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity.auth.tokens import Principal
from megacity.db import tenant_transaction
from megacity.errors import AppError
from megacity.glicko2 import PROVISIONAL_RD
from megacity.roles import ZONE_ROLES
from megacity.runtime import Resources
from services.arena.fairplay import queries
from services.arena.fairplay.queries import FlagRow, Pace
from services.arena.leaderboards import service as leaderboards
from services.arena.players import queries as players
from services.arena.ratings import changes as rating_changes
from services.arena.ratings import queries as ratings
from services.arena.ratings.changes import RatingChange
from services.arena.settings import ArenaSettings

NOT_FOUND = (404, "arena.player_not_found", "No arena player with this id that you moderate")
FLAG_NOT_FOUND = (404, "arena.flag_not_found", "No such fair-play flag that you moderate")
CONSTANT_STDEV_MS = 100.0  # answer times this steady over a match look scripted
CONSTANT_MIN_ANSWERS = 5
FAST_CORRECT_FLAG = 2  # correct answers under the reading floor in one match


@dataclass(frozen=True, slots=True)
class Marked:
    user_id: uuid.UUID
    newly: bool
    refunds: list[RatingChange]


def is_quick(p: Pace, settings: ArenaSettings) -> bool:
    """A loss that cost its loser no effort: forfeited, or every round answered faster on average
    than `fairplay_quick_loss_seconds`."""
    if p.forfeited or p.end_reason in ("forfeit", "disconnect"):
        return True
    return p.answered > 0 and p.timeouts == 0 and p.mean_ms is not None \
        and p.mean_ms < settings.fairplay_quick_loss_seconds * 1000


async def should_rate(session: AsyncSession, zone_id: int, match_id: uuid.UUID,
                      settings: ArenaSettings) -> tuple[bool, str | None]:
    """Whether a finished match may change ratings, and the `unrated_reason` when not: a marked
    cheater took part ('cheater'), or a provisional winner won quickly against a related account
    ('related_provisional'; a `related_win` warning is left for review). Asked once per match, in
    the transaction that finishes it."""
    seats = await ratings.seats(session, match_id)
    match = await ratings.get_match(session, match_id)
    humans = [s for s in seats if s.user_id is not None]
    if await queries.cheaters_among(session, zone_id, [s.user_id for s in humans if s.user_id]):
        return False, "cheater"
    if match is None or match.winner_user_id is None or len(humans) < 2:
        return True, None
    winner = next(s for s in humans if s.user_id == match.winner_user_id)
    loser = next(s for s in humans if s.user_id != match.winner_user_id)
    assert winner.user_id is not None
    rd = await queries.overall_rd(session, zone_id, winner.user_id)
    if rd is not None and rd < PROVISIONAL_RD:
        return True, None
    related = (winner.org_id is not None and winner.org_id == loser.org_id) or \
        (bool(winner.client_address) and winner.client_address == loser.client_address)
    if related and is_quick(await queries.pace(session, match_id, loser.seat), settings):
        await queries.add_flag(session, zone_id, winner.user_id, "related_win", "warn", {
            "match_id": str(match_id), "opponent": str(loser.user_id),
            "same_org": winner.org_id is not None and winner.org_id == loser.org_id})
        return False, "related_provisional"
    return True, None


async def after_rated_result(session: AsyncSession, zone_id: int, match_id: uuid.UUID, winner: uuid.UUID,
                             loser: uuid.UUID, settings: ArenaSettings) -> list[uuid.UUID]:
    """Sandbagging/boosting watch over the loser's recent rated results; the flags it raised."""
    recent = await queries.recent_rated_results(session, zone_id, loser, settings.fairplay_window)
    quick = [r for r in recent if r.outcome == "loss" and r.opponent == winner and is_quick(r.pace, settings)]
    level = "flag" if len(quick) >= settings.fairplay_flag_at else "warn" if len(quick) >= settings.fairplay_warn_at \
        else None
    if level is None:
        return []
    details = {"window": settings.fairplay_window, "quick_losses": len(quick),
               "matches": [str(r.match_id) for r in quick], "last_match": str(match_id)}
    raised = []
    for user, kind, opponent in ((loser, "sandbagging", winner), (winner, "boosting", loser)):
        if not await queries.open_flag_exists(session, zone_id, user, kind, level, opponent):
            raised.append(await queries.add_flag(session, zone_id, user, kind, level,
                                                 {**details, "opponent": str(opponent)}))
    return raised


async def check_timing(session: AsyncSession, zone_id: int, match_id: uuid.UUID,
                       answers: list[ratings.AnswerRow], settings: ArenaSettings) -> list[uuid.UUID]:
    """Timing anomalies of each human in one match, flagged for review."""
    raised = []
    for user in sorted({a.user_id for a in answers if a.user_id is not None}):
        mine = [a for a in answers if a.user_id == user and a.verdict != "timeout"]
        fast = [a.round_no for a in mine if a.verdict in ("correct", "partial")
                and a.elapsed_ms < settings.fairplay_min_answer_ms]
        times = [a.elapsed_ms for a in mine]
        if len(fast) >= FAST_CORRECT_FLAG:
            raised.append(await queries.add_flag(session, zone_id, user, "timing", "flag", {
                "match_id": str(match_id), "fast_correct_rounds": fast, "floor_ms": settings.fairplay_min_answer_ms}))
        elif len(times) >= CONSTANT_MIN_ANSWERS and statistics.pstdev(times) < CONSTANT_STDEV_MS:
            raised.append(await queries.add_flag(session, zone_id, user, "timing", "warn", {
                "match_id": str(match_id), "stdev_ms": round(statistics.pstdev(times), 1), "answers": len(times)}))
    return raised


def moderated_org(principal: Principal) -> uuid.UUID | None:
    """Org admins moderate their org's players; zone and super admins the whole zone."""
    return None if principal.role in ZONE_ROLES else principal.org_id


async def list_flags(res: Resources, principal: Principal, status: str | None, user_id: uuid.UUID | None,
                     limit: int) -> list[FlagRow]:
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        return await queries.list_flags(s, principal.zone_id, org_id=moderated_org(principal), status=status,
                                        user_id=user_id, limit=limit)


async def review_flag(res: Resources, principal: Principal, flag_id: uuid.UUID, status: str) -> FlagRow:
    """A moderator's verdict on a flag: dismissed (a false alarm) or confirmed."""
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        row = await queries.review_flag(s, principal.zone_id, flag_id, status, principal.user_id,
                                        moderated_org(principal))
    if row is None:
        raise AppError(404, "arena.flag_not_found", f"no fair-play flag {flag_id} that you moderate")
    return row


async def mark_cheater(res: Resources, principal: Principal, user_id: uuid.UUID, note: str) -> Marked:
    """Mark a player as a cheater: opponents get back what they lost to it, once; it leaves the
    boards. A second mark changes nothing."""
    zone_id = principal.zone_id
    org = moderated_org(principal)
    async with tenant_transaction(res.db(), principal.tenant()) as s:
        player = await players.get(s, zone_id, user_id)
        if player is None or (org is not None and player.org_id != org):
            raise AppError(404, "arena.player_not_found", f"no arena player {user_id} that you moderate")
        # The cheater's and its victims' rows in user order, as applying a match locks them: a
        # match of the cheater applied meanwhile never deadlocks with the refunds.
        await players.lock(s, zone_id, [user_id, *(lost.user_id for lost in await queries.losses_to(s, zone_id,
                                                                                                      user_id))])
        newly = await queries.mark_cheater(s, zone_id, user_id)
        refunds: list[RatingChange] = []
        if newly:
            await queries.add_flag(s, zone_id, user_id, "cheater", "flag", {"note": note}, status="confirmed",
                                   reviewed_by=principal.user_id)
            for lost in await queries.losses_to(s, zone_id, user_id):
                change = await rating_changes.adjust(s, zone_id, lost.match_id, lost.user_id, lost.topic,
                                                     lost.rating_before - lost.rating_after, "refund")
                if change is not None:
                    refunds.append(change)
            await rating_changes.record_events(s, zone_id, refunds)
            topics = await queries.topics_of(s, zone_id, user_id)
    if newly:
        await leaderboards.record_ratings(res, zone_id, [(user_id, t, 0.0, 0.0, 0, True) for t in topics])
        await leaderboards.remove_weekly(res, zone_id, user_id)
        await rating_changes.publish(res, zone_id, refunds)
    return Marked(user_id, newly, refunds)
