"""Glicko-2 (megacity.glicko2) against Glickman's worked example, and the Lichess rules on top."""
from __future__ import annotations

import pytest

from megacity.glicko2 import MAX_RD, MIN_RD, Rating, after_match, decayed, rate


def test_the_papers_worked_example() -> None:
    player = Rating(1500, 200, 0.06)
    new = rate(player, [(Rating(1400, 30), 1.0), (Rating(1550, 100), 0.0), (Rating(1700, 300), 0.0)])
    # The paper rounds its intermediate steps (μ' = -0.2069, φ' = 0.8722); exact arithmetic gives
    # 1464.0507 / 151.5165 / 0.0599960, within its printed precision.
    assert new.rating == pytest.approx(1464.06, abs=0.01)
    assert new.rd == pytest.approx(151.52, abs=0.01)
    assert new.volatility == pytest.approx(0.05999, abs=0.00001)


def test_no_games_only_grows_the_deviation() -> None:
    player = Rating(1600, 100, 0.06)
    idle = rate(player, [])
    assert idle.rating == 1600 and idle.rd > 100 and idle.volatility == 0.06
    assert decayed(player, 0) == player
    assert decayed(player, 30).rd > decayed(player, 1).rd > 100
    assert decayed(Rating(1500, 340), 10_000).rd == MAX_RD


def test_wins_raise_losses_lower_draws_pull_together() -> None:
    a, b = Rating(1500, 100), Rating(1700, 100)
    assert after_match(a, b, 1.0).rating > a.rating
    assert after_match(b, a, 0.0).rating < b.rating
    assert after_match(a, b, 0.5).rating > a.rating and after_match(b, a, 0.5).rating < b.rating
    # An upset moves more than the expected result.
    assert after_match(a, b, 1.0).rating - a.rating > after_match(b, a, 1.0).rating - b.rating


def test_deviation_bounds_provisional_and_cap() -> None:
    veteran = Rating(2000, 46, 0.06)
    for _ in range(50):
        veteran = after_match(veteran, Rating(2000, 50), 0.5)
    assert veteran.rd >= MIN_RD
    assert Rating().provisional and not Rating(1500, 109.9).provisional
    capped = after_match(Rating(1500, 350), Rating(2900, 45), 1.0, max_change=100)
    assert capped.rating == 1600


def test_scores_are_win_draw_loss() -> None:
    with pytest.raises(ValueError):
        rate(Rating(), [(Rating(), 0.7)])
