"""Applying a finished match, exactly once: Glicko-2 (libs/megacity/glicko2.py, as Lichess runs
it) per player for the overall topic '' and the match's topic, with inactivity decay, the cap per
match and provisional ratings; W/L/D, experience, tier points; each question rated as an opponent
of the players who answered it (as Lichess rates puzzles); league XP; fair-play checks.

Exactly once: the match row is claimed by `ratings_applied_at IS NULL -> now()` (a concurrent
second delivery waits on the row lock, then finds it stamped), and every rating change is a row
unique per (match, player, topic, reason). Nothing here talks to Redis or the WebSocket: the
caller pushes the returned changes after the commit (`publish`)."""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from megacity import glicko2
from megacity.glicko2 import Rating
from megacity.runtime import Resources
from services.arena.fairplay import service as fairplay
from services.arena.leaderboards import service as leaderboards
from services.arena.leagues import service as leagues
from services.arena.leagues.queries import MemberRow
from services.arena.players import queries as players
from services.arena.players import service as player_service
from services.arena.ratings import changes, queries
from services.arena.ratings.changes import RatingChange
from services.arena.ratings.queries import MatchRow, SeatRow
from services.arena.settings import ArenaSettings

XP_PER_CORRECT = 10
XP_FOR_OUTCOME = {"win": 20, "draw": 10, "loss": 0}
SCORE = {"win": 1.0, "draw": 0.5, "loss": 0.0}
RATED_VERDICTS = ("correct", "partial", "wrong", "timeout")  # 'pending' free text is not an outcome yet


@dataclass(frozen=True, slots=True)
class PlayerResult:
    user_id: uuid.UUID
    outcome: str | None
    xp: int
    league: MemberRow | None  # the player's league seat of the week, with its XP so far
    cheater: bool = False  # a marked cheater stays off the weekly board


@dataclass(frozen=True, slots=True)
class Applied:
    match_id: uuid.UUID
    zone_id: int
    rated: bool
    unrated_reason: str | None
    players: list[PlayerResult]
    changes: list[RatingChange]


def _days(since: dt.datetime | None, now: dt.datetime) -> float:
    return max(0.0, (now - since).total_seconds() / 86_400) if since else 0.0


def _opponent_rating(seat: SeatRow, stored: queries.StoredRating | None, now: dt.datetime) -> Rating:
    """The opponent as it stands at the game: a human's stored rating grown by its inactivity; a
    ghost (a replayed player) at the rating it had, with a provisional deviation."""
    if seat.user_id is None:
        return Rating(seat.rating_before or glicko2.DEFAULT_RATING, glicko2.PROVISIONAL_RD)
    if stored is None:
        return Rating()
    return glicko2.decayed(stored.rating, _days(stored.last_rated_at, now))


async def _rate_players(session: AsyncSession, match: MatchRow, seats: list[SeatRow], settings: ArenaSettings,
                        now: dt.datetime) -> list[RatingChange]:
    humans = [s for s in seats if s.user_id is not None and s.outcome in SCORE]
    if not humans or len(seats) != 2:
        return []
    topics = [""] + ([match.topic] if match.topic else [])
    tiers = await players.tiers(session)
    stored = await queries.ratings_for_update(session, match.zone_id, [s.user_id for s in seats if s.user_id],
                                              topics)
    out = []
    for topic in topics:
        for me in humans:
            assert me.user_id is not None and me.outcome is not None
            other = next(s for s in seats if s.seat != me.seat)
            mine = stored.get((me.user_id, topic))
            before = mine.rating if mine else Rating()
            theirs = stored.get((other.user_id, topic)) if other.user_id else None
            after = glicko2.after_match(before, _opponent_rating(other, theirs, now), SCORE[me.outcome],
                                        days_inactive=_days(mine.last_rated_at if mine else None, now),
                                        max_change=settings.rating_change_cap)
            games = (mine.games if mine else 0) + 1
            if not await queries.add_change(session, match.zone_id, match.id, me.user_id, topic, "match", before,
                                            after):
                continue
            await queries.save_rating(session, match.zone_id, me.user_id, topic, after, games, now)
            points = changes.tier_points(after.rating)
            extra = {"outcome": me.outcome, "tier_points": points,
                     "tier": player_service.tier_for(points, tiers).name} if topic == "" else {}
            out.append(RatingChange(match.id, me.user_id, topic, "match", before, after, games, extra))
    return out


async def _rate_questions(session: AsyncSession, match: MatchRow, answers: list[queries.AnswerRow],
                          now: dt.datetime) -> None:
    """Each answer is a game between the player and the question (the question wins when the
    answer is wrong), rated against the player's overall rating."""
    played = [a for a in answers if a.user_id is not None and a.verdict in RATED_VERDICTS]
    if not played:
        return
    users = {a.user_id for a in played if a.user_id}
    stored = await queries.ratings_for_update(session, match.zone_id, users, [""])
    questions = await queries.questions_for_update(session, {a.question_id for a in played})
    for a in played:
        if a.question_id not in questions:
            continue  # deleted, or not visible
        rating, plays = questions[a.question_id]
        player = stored.get((a.user_id, "")) if a.user_id else None
        opponent = glicko2.decayed(player.rating, _days(player.last_rated_at, now)) if player else Rating()
        questions[a.question_id] = (glicko2.after_match(rating, opponent, 1.0 - float(a.score)), plays + 1)
    for qid, (rating, plays) in questions.items():
        await queries.save_question(session, qid, rating, plays)


async def apply_match_result(session: AsyncSession, zone_id: int, match_id: uuid.UUID, settings: ArenaSettings,
                             now: dt.datetime | None = None) -> Applied | None:
    """Apply a finished match in the caller's transaction (tenant context of its zone set);
    None when it is not finished or was applied before."""
    now = now or dt.datetime.now(dt.UTC)
    match = await queries.claim(session, match_id)
    if match is None:
        return None
    seats = await queries.seats(session, match_id)
    humans = sorted((x for x in seats if x.user_id is not None), key=lambda x: str(x.user_id))
    for seat in humans:
        assert seat.user_id is not None
        await player_service.ensure_player(session, zone_id, seat.user_id, seat.org_id)
    # The players' rows first, in user order: every change of a player's ratings and statistics
    # (matches, refunds, appeals) takes them first, so two of them never deadlock, and a rating
    # row that does not exist yet (nothing to lock) is not written from two stale reads.
    cheaters = await players.lock(session, zone_id, [s.user_id for s in humans if s.user_id is not None])
    rated, reason = match.rated, match.unrated_reason
    if rated:
        rated, reason = await fairplay.should_rate(session, zone_id, match_id, settings)
        if not rated:
            await queries.mark_unrated(session, match_id, reason or "fairplay")
    answers = await queries.answers(session, match_id)
    if match.mode != "practice" and match.opponent_kind == "human":  # against the pre-match ratings
        await _rate_questions(session, match, answers, now)
    rating_changes = await _rate_players(session, match, seats, settings, now) if rated else []
    results = []
    for seat in humans:
        assert seat.user_id is not None
        outcome = seat.outcome if match.mode != "practice" else None
        xp = XP_PER_CORRECT * seat.correct + (0 if seat.forfeited else XP_FOR_OUTCOME.get(seat.outcome or "", 0))
        overall = next((c for c in rating_changes if c.user_id == seat.user_id and c.topic == ""), None)
        await queries.add_stats(session, zone_id, seat.user_id, outcome=outcome, xp=xp,
                                tier_points=changes.tier_points(overall.after.rating) if overall else None,
                                at=match.finished_at or now)
        member = await leagues.add_xp(session, zone_id, seat.user_id, xp, settings, now) if xp > 0 else None
        results.append(PlayerResult(seat.user_id, outcome, xp, member, seat.user_id in cheaters))
    if rated and match.winner_user_id is not None:
        loser = next((s.user_id for s in seats if s.user_id and s.user_id != match.winner_user_id), None)
        if loser is not None:
            await fairplay.after_rated_result(session, zone_id, match_id, match.winner_user_id, loser, settings)
    await fairplay.check_timing(session, zone_id, match_id, answers, settings)
    await changes.record_events(session, zone_id, rating_changes)
    return Applied(match_id, zone_id, rated, reason, results, rating_changes)


async def publish(res: Resources, applied: Applied) -> None:
    """After the commit: the boards (ratings, this week's XP, the league group), then
    `rating_change` frames."""
    for p in applied.players:
        if p.league is not None:
            if not p.cheater:
                await leaderboards.record_weekly(res, applied.zone_id, p.league.week_start, p.user_id, p.league.xp)
            await leagues.record_xp(res, applied.zone_id, p.league)
    await changes.publish(res, applied.zone_id, applied.changes)

