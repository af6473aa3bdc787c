"""Pool pairing (services/arena/matchmaking/pairing.py), pure: fairness (every pair inside both
players' windows), the window widening with waiting, the daily-limit block, and blossom against
greedy on crafted and random pools."""
from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from services.arena.matchmaking.pairing import (
    Pair,
    Waiting,
    greedy_pair,
    pair,
    pair_cost,
    rounds_waited,
    window,
)


@dataclass(frozen=True)
class Rules:
    pair_interval_seconds: float = 2.0
    pair_max_gap: float = 300.0
    pair_wait_bonus: float = 25.0
    pair_wait_bonus_cap: float = 400.0


RULES = Rules()


def players(*ratings: float, joined_at: float = 0.0) -> list[Waiting]:
    return [Waiting(f"u{i}", r, joined_at) for i, r in enumerate(ratings)]


def total(pairs: list[Pair]) -> tuple[int, float]:
    return len(pairs), sum(p.cost for p in pairs)


def random_pool(rng: random.Random, n: int, now: float = 60.0) -> list[Waiting]:
    return [Waiting(f"u{i}", rng.gauss(1500, 350), now - rng.uniform(0, 45)) for i in range(n)]


def test_window_widens_by_the_bonus_per_round_up_to_the_cap() -> None:
    p = Waiting("u", 1500, joined_at=100.0)
    assert [rounds_waited(p, 100.0 + t, RULES) for t in (0, 1.9, 2.0, 9.9, 10.0)] == [0, 0, 1, 4, 5]
    assert window(p, 100.0, RULES) == 300
    assert window(p, 110.0, RULES) == 300 + 5 * 25
    assert window(p, 100.0 + 2 * 16, RULES) == 300 + 400  # 16 rounds x 25 = cap
    assert window(p, 10_000.0, RULES) == 700
    assert window(p, 50.0, RULES) == 300  # a clock behind the join time never narrows it


@pytest.mark.parametrize("rounds", range(0, 12))
def test_a_far_pair_is_refused_until_both_waited_long_enough(rounds: int) -> None:
    a, b = players(1000, 1500)  # 500 apart: needs 200 of bonus, 8 rounds of 25
    now = rounds * RULES.pair_interval_seconds
    assert (len(pair([a, b], now, RULES)) == 1) == (rounds >= 8)
    assert (pair_cost(a, b, now, RULES) is None) == (rounds < 8)


def test_a_newcomer_is_not_handed_to_a_long_waiter_outside_its_own_window() -> None:
    veteran = Waiting("veteran", 1000, joined_at=0.0)  # window 700 after 60 s
    newcomer = Waiting("new", 1500, joined_at=60.0)  # window 300
    assert pair([veteran, newcomer], 60.0, RULES) == []
    assert len(pair([veteran, newcomer], 60.0 + 16, RULES)) == 1  # the newcomer's window grew to 500


@pytest.mark.parametrize("seed", range(20))
def test_every_pair_is_inside_both_players_windows(seed: int) -> None:
    rng = random.Random(seed)
    pool, now = random_pool(rng, 120), 60.0
    for pairs in (pair(pool, now, RULES), greedy_pair(pool, now, RULES)):
        assert pairs
        for p in pairs:
            assert p.gap <= min(window(p.a, now, RULES), window(p.b, now, RULES)) + 1e-9
        seen = [u for p in pairs for u in (p.a.user_id, p.b.user_id)]
        assert len(seen) == len(set(seen))  # nobody twice


def test_blossom_pairs_players_greedy_strands() -> None:
    pool = players(1000, 1100, 1150, 1250)
    narrow = Rules(pair_max_gap=200)
    # Greedy takes the nearest pair (1100-1150) first; 1000-1250 is then refused.
    assert [sorted((p.a.rating, p.b.rating)) for p in greedy_pair(pool, 0, narrow)] == [[1100, 1150]]
    assert sorted(sorted((p.a.rating, p.b.rating)) for p in pair(pool, 0, narrow)) == [[1000, 1100], [1150, 1250]]


def test_blossom_pays_smaller_gaps_than_greedy() -> None:
    pool = players(1000, 1100, 1150, 1250)
    assert total(greedy_pair(pool, 0, RULES)) == (2, 300)  # 50 + 250
    assert total(pair(pool, 0, RULES)) == (2, 200)  # 100 + 100


@pytest.mark.parametrize("seed", range(30))
def test_blossom_never_loses_to_greedy_on_random_pools(seed: int) -> None:
    rng = random.Random(seed)
    pool = random_pool(rng, 40)
    (bn, bc), (gn, gc) = total(pair(pool, 60.0, RULES)), total(greedy_pair(pool, 60.0, RULES))
    assert bn > gn or (bn == gn and bc <= gc + 0.01 * len(pool)), (bn, bc, gn, gc)  # weights in 1/100 points


@pytest.mark.parametrize("seed", range(3))
def test_chunked_matching_is_close_to_one_blossom_over_the_pool(seed: int) -> None:
    rng = random.Random(100 + seed)
    pool = random_pool(rng, 300)
    (cn, cc), (wn, wc) = total(pair(pool, 60.0, RULES)), total(pair(pool, 60.0, RULES, chunk=10**9))
    assert cn >= wn - 1
    assert cc <= wc + abs(wc) * 0.02 + 300 * (wn - cn)


def test_a_blocked_pair_is_never_formed() -> None:
    a, b, c = players(1500, 1510, 1700)
    blocked = {frozenset(("u0", "u1"))}
    assert pair([a, b], 0, RULES, blocked=blocked) == []
    assert greedy_pair([a, b], 0, RULES, blocked=blocked) == []
    got = pair([a, b, c], 0, RULES, blocked=blocked)
    assert [p.users() for p in got] == [frozenset(("u1", "u2"))]


def test_the_result_does_not_depend_on_the_input_order() -> None:
    rng = random.Random(7)
    pool = random_pool(rng, 150)
    shuffled = pool[:]
    rng.shuffle(shuffled)
    assert {p.users() for p in pair(pool, 60.0, RULES)} == {p.users() for p in pair(shuffled, 60.0, RULES)}


def test_empty_and_single_pools() -> None:
    assert pair([], 0, RULES) == []
    assert pair(players(1500), 0, RULES) == []
    assert greedy_pair(players(1500), 0, RULES) == []
