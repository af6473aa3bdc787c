"""Arena settings: ARENA_* variables (see megacity.settings.ServiceSettings) plus the rules of
seed 003 and issue #15 (match shape, matchmaking, ratings, leagues, retrieval, grading)."""
from __future__ import annotations

from megacity.settings import ServiceSettings, settings_class


class ArenaSettings(ServiceSettings):
    # Matches (QuizUp: 7 timed questions); practice and casual use the same shape.
    round_count: int = 7
    round_seconds: int = 20
    # Transit grace added to a round's deadline before an answer counts as late.
    answer_grace_ms: int = 250
    # A disconnected player forfeits after this long without reconnecting.
    forfeit_grace_seconds: float = 20.0
    # Pause between a round's result and the next round's start.
    round_gap_seconds: float = 2.0
    # Sweep for rounds whose deadline passed on a replica that died, and for forfeits.
    sweep_interval_seconds: float = 1.0
    # Matchmaking (Lichess pools): a pairing round every interval, or as soon as this many wait.
    pair_interval_seconds: float = 2.0
    pair_min_waiting: int = 20
    # Pair cost = |rating gap| - wait_bonus x rounds waited (bonus capped); refused above max_gap.
    pair_max_gap: float = 300.0
    pair_wait_bonus: float = 25.0
    pair_wait_bonus_cap: float = 400.0
    # Nobody waits forever: a ghost match (replay of a past human match) after this long.
    ghost_after_seconds: float = 45.0
    # A queued player with no ghost to meet either is dropped (queue_status idle, reason timeout).
    queue_timeout_seconds: float = 300.0
    # At most this many rated games a day against the same opponent.
    same_opponent_rated_per_day: int = 3
    # Ratings (Glicko-2 as Lichess runs it): change capped per match.
    rating_change_cap: float = 700.0
    # Leaderboards: top-N page size bound and neighbours on each side of "my rank".
    leaderboard_max_limit: int = 100
    leaderboard_neighbours: int = 5
    # Leagues (Duolingo): groups of ~30, top 7 promoted, bottom 5 demoted, weekly.
    league_group_size: int = 30
    league_promote: int = 7
    league_demote: int = 5
    # Fair play: a "quick" loss (the loser's mean answer time per round below this) and the
    # sandbagging window (warn at 3, flag at 4 of 7); answers faster than min_answer_ms are flagged.
    fairplay_quick_loss_seconds: float = 4.0
    fairplay_window: int = 7
    fairplay_warn_at: int = 3
    fairplay_flag_at: int = 4
    fairplay_min_answer_ms: int = 300
    # Retrieval: duplicate shortlist threshold (cosine similarity), similar-question count.
    duplicate_similarity: float = 0.85
    similar_limit: int = 5
    # Free text counts in rated matches only once the LLM grader's measured Cohen's kappa against
    # the human-labelled set (services/arena/grading/labelled_set.jsonl) reaches 0.7.
    free_text_rated_kappa: float = 0.0
    free_text_min_kappa: float = 0.7
    # Upkeep (services/arena/upkeep.py): embedding backfill pass, and how often finished league
    # weeks are looked for.
    upkeep_interval_seconds: float = 10.0
    league_close_interval_seconds: float = 600.0
    # Frames kept per player room for resume after reconnect; bounded send queue per socket.
    replay_frames: int = 2000
    send_queue_frames: int = 256


Settings = settings_class("arena", ArenaSettings)
