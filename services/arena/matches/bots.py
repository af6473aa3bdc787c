"""The practice bot and the scoring of a round, pure functions.

The bot plays like a player of its rating against each question as an opponent (Elo expectation
from the question's own Glicko-2 rating once it has one, else from its difficulty 1–5), and
answers sooner on easy questions. Its choices are drawn from a generator seeded by the match and
round, so any replica (or the sweeper after a crash) computes the same answer and time.
"""
from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass

# Difficulty 1..5 as a rating while a question has no played rating of its own (RD still 350).
DIFFICULTY_RATING = {1: 1100.0, 2: 1300.0, 3: 1500.0, 4: 1700.0, 5: 1900.0}
UNRATED_RD = 350.0


@dataclass(frozen=True, slots=True)
class Planned:
    """A synthetic seat's answer: text, verdict and when (ms after the round's start); None = no answer."""

    answer: str
    verdict: str
    score: float
    elapsed_ms: int


def question_rating(rating: float, rd: float, difficulty: int) -> float:
    return rating if rd < UNRATED_RD else DIFFICULTY_RATING.get(difficulty, 1500.0)


def p_correct(bot_rating: float, q_rating: float) -> float:
    return 1.0 / (1.0 + 10 ** ((q_rating - bot_rating) / 400.0))


def bot_answer(match_id: uuid.UUID, round_no: int, bot_rating: float, q_rating: float, difficulty: int,
               limit_ms: int, correct_text: str, wrong_choices: list[str]) -> Planned | None:
    """The bot's answer to one round (deterministic per match and round)."""
    rng = random.Random(f"{match_id}:{round_no}")
    correct = rng.random() < p_correct(bot_rating, q_rating)
    # log-normal thinking time, median 25–65% of the round by difficulty
    median = limit_ms * (0.15 + 0.1 * difficulty)
    elapsed = int(median * math.exp(rng.gauss(0.0, 0.35)))
    if elapsed >= limit_ms:
        return None
    if correct:
        return Planned(correct_text, "correct", 1.0, max(elapsed, 400))
    wrong = rng.choice(wrong_choices) if wrong_choices else "?"
    return Planned(wrong, "wrong", 0.0, max(elapsed, 400))


def points(score: float, elapsed_ms: int, limit_ms: int, last_round: bool) -> int:
    """QuizUp scoring: 10–20 points for a right answer by how early it came, half for a partial
    one, the last round counts double."""
    if score <= 0:
        return 0
    share = min(1.0, max(0.0, elapsed_ms / max(1, limit_ms)))
    base = round((10 + 10 * (1 - share)) * score)
    return base * 2 if last_round else base


def outcomes(scores: dict[int, int], forfeited: int | None = None) -> dict[int, str]:
    """win/loss/draw per seat: a forfeit loses; else the higher score wins."""
    if forfeited is not None:
        return {seat: "loss" if seat == forfeited else "win" for seat in scores}
    a, b = scores.get(0, 0), scores.get(1, 0)
    if a == b:
        return {0: "draw", 1: "draw"}
    return {0: "win" if a > b else "loss", 1: "win" if b > a else "loss"}
