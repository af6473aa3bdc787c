"""Live tallies and the session leaderboard in Redis, changed only by atomic operations: one Lua
call per stored answer increments the card's counters (answered, correct, per answer given — the
misconceptions) and the participant's score, and returns its new score and rank. No
read-modify-write anywhere, so concurrent answers on any number of replicas all count (ClassQuiz
lost answers appending to a Redis list with read-modify-write)."""
from __future__ import annotations

from typing import Any

from services.classroom.live_state import TTL_SECONDS, LiveKeys

# KEYS[1] card tally hash, KEYS[2] leaderboard. ARGV: participant, points, answer key, correct (0/1), ttl.
_RECORD = """
redis.call('HINCRBY', KEYS[1], 'n', 1)
if ARGV[4] == '1' then redis.call('HINCRBY', KEYS[1], 'c', 1) end
redis.call('HINCRBY', KEYS[1], 'a:' .. ARGV[3], 1)
local score = redis.call('ZINCRBY', KEYS[2], ARGV[2], ARGV[1])
local rank = redis.call('ZREVRANK', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
return {score, rank}
"""
MAX_KEY_CHARS = 40
TOP_ANSWERS = 8


class Tallies:
    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self._record = redis.register_script(_RECORD)

    async def record(self, lk: LiveKeys, card_no: int, participant_id: str, points: int, answer_key: str,
                     correct: bool) -> tuple[int, int]:
        """Count a stored answer; returns (score, rank from 1)."""
        score, rank = await self._record(keys=[lk.tally(card_no), lk.board],
                                         args=[participant_id, points, answer_key[:MAX_KEY_CHARS], int(correct),
                                               TTL_SECONDS])
        return int(float(score)), int(rank) + 1

    async def card(self, lk: LiveKeys, card_no: int) -> dict[str, Any]:
        h = await self.redis.hgetall(lk.tally(card_no))
        by_answer = sorted(((k[2:], int(v)) for k, v in h.items() if k.startswith("a:")), key=lambda kv: -kv[1])
        return {"card_no": card_no, "answered": int(h.get("n", 0)), "correct": int(h.get("c", 0)),
                "by_answer": [{"answer": a, "count": n} for a, n in by_answer[:TOP_ANSWERS]]}

    async def rebuild(self, lk: LiveKeys, card_no: int, answers: list[tuple[str, bool]], scores: dict[str, int]) -> None:
        """The card's tally and the leaderboard from the stored answers (the truth), when the live
        counts fell behind (Redis failed between storing an answer and counting it)."""
        counts: dict[str, int] = {"n": len(answers), "c": sum(correct for _, correct in answers)}
        for key, _ in answers:
            counts["a:" + key[:MAX_KEY_CHARS]] = counts.get("a:" + key[:MAX_KEY_CHARS], 0) + 1
        async with self.redis.pipeline(transaction=True) as p:
            p.delete(lk.tally(card_no))
            p.hset(lk.tally(card_no), mapping=counts)
            p.expire(lk.tally(card_no), TTL_SECONDS)
            if scores:
                p.zadd(lk.board, scores)
            await p.execute()

    async def leaderboard(self, lk: LiveKeys, top: int = 10) -> dict[str, Any]:
        async with self.redis.pipeline(transaction=False) as p:
            p.zrevrange(lk.board, 0, top - 1, withscores=True)
            p.zcard(lk.board)
            ranked, total = await p.execute()
        names = await self.redis.hmget(lk.names, [pid for pid, _ in ranked]) if ranked else []
        return {"top": [{"rank": i + 1, "participant_id": pid, "nickname": name or "?", "score": int(score)}
                        for i, ((pid, score), name) in enumerate(zip(ranked, names, strict=True))],
                "participants": int(total)}
