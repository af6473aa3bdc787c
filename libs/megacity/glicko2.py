"""Glicko-2 ratings, from Glickman's paper ("Example of the Glicko-2 system", 2013), as Lichess
runs them: one player's update over a rating period, the volatility found with the paper's
Illinois iteration, rating deviation growing with inactivity and kept in [45, 350], provisional
while RD ≥ 110.

Written here rather than taken from PyPI: the `glicko2` package computes the volatility step
with μ² where the paper has φ², and updates only in batches (issue #15). The worked example of
the paper (1500/200/0.06 against 1400/30 won, 1550/100 lost, 1700/300 lost -> 1464.06 / 151.52 /
0.05999) is the test.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SCALE = 173.7178  # the Glicko <-> Glicko-2 scale factor
DEFAULT_RATING = 1500.0
DEFAULT_RD = 350.0
DEFAULT_VOLATILITY = 0.06
DEFAULT_TAU = 0.5  # constrains volatility change (the paper suggests 0.3-1.2)
CONVERGENCE = 0.000001
MIN_RD = 45.0  # Lichess keeps RD in [45, 350]
MAX_RD = 350.0
PROVISIONAL_RD = 110.0  # shown with "?" while RD is this high
PERIODS_PER_DAY = 0.21436  # Lichess: rating periods that pass per day of inactivity


@dataclass(frozen=True, slots=True)
class Rating:
    rating: float = DEFAULT_RATING
    rd: float = DEFAULT_RD
    volatility: float = DEFAULT_VOLATILITY

    @property
    def provisional(self) -> bool:
        return self.rd >= PROVISIONAL_RD


def _g(phi: float) -> float:
    return 1.0 / math.sqrt(1.0 + 3.0 * phi * phi / (math.pi * math.pi))


def _e(mu: float, mu_j: float, phi_j: float) -> float:
    return 1.0 / (1.0 + math.exp(-_g(phi_j) * (mu - mu_j)))


def _volatility(phi: float, sigma: float, delta: float, v: float, tau: float) -> float:
    """Step 5 of the paper: the new volatility by the Illinois algorithm."""
    a = math.log(sigma * sigma)

    def f(x: float) -> float:
        ex = math.exp(x)
        return ex * (delta * delta - phi * phi - v - ex) / (2.0 * (phi * phi + v + ex) ** 2) - (x - a) / (tau * tau)

    big_a = a
    if delta * delta > phi * phi + v:
        big_b = math.log(delta * delta - phi * phi - v)
    else:
        k = 1
        while f(a - k * tau) < 0:
            k += 1
        big_b = a - k * tau
    f_a, f_b = f(big_a), f(big_b)
    while abs(big_b - big_a) > CONVERGENCE:
        c = big_a + (big_a - big_b) * f_a / (f_b - f_a)
        f_c = f(c)
        if f_c * f_b <= 0:
            big_a, f_a = big_b, f_b
        else:
            f_a /= 2.0
        big_b, f_b = c, f_c
    return math.exp(big_a / 2.0)


def rate(player: Rating, results: Sequence[tuple[Rating, float]], *, tau: float = DEFAULT_TAU) -> Rating:
    """The player's rating after one rating period with `results` (opponent, score 1 / 0.5 / 0).
    With no results only the deviation grows (step 6 alone). Not clamped: see `after_match`."""
    mu, phi, sigma = (player.rating - DEFAULT_RATING) / SCALE, player.rd / SCALE, player.volatility
    if not results:
        return Rating(player.rating, SCALE * math.sqrt(phi * phi + sigma * sigma), sigma)
    for _, score in results:
        if score not in (0.0, 0.5, 1.0):
            raise ValueError(f"a score is 1, 0.5 or 0, not {score!r}")
    opponents = [((o.rating - DEFAULT_RATING) / SCALE, o.rd / SCALE, s) for o, s in results]
    v = 1.0 / sum(_g(pj) ** 2 * _e(mu, mj, pj) * (1.0 - _e(mu, mj, pj)) for mj, pj, _ in opponents)
    improvement = sum(_g(pj) * (s - _e(mu, mj, pj)) for mj, pj, s in opponents)
    new_sigma = _volatility(phi, sigma, v * improvement, v, tau)
    phi_star = math.sqrt(phi * phi + new_sigma * new_sigma)
    new_phi = 1.0 / math.sqrt(1.0 / (phi_star * phi_star) + 1.0 / v)
    new_mu = mu + new_phi * new_phi * improvement
    return Rating(SCALE * new_mu + DEFAULT_RATING, SCALE * new_phi, new_sigma)


def decayed(player: Rating, days_inactive: float) -> Rating:
    """The deviation grown by inactivity (Lichess: 0.21436 rating periods a day), at most MAX_RD."""
    if days_inactive <= 0:
        return player
    phi, sigma = player.rd / SCALE, player.volatility
    periods = days_inactive * PERIODS_PER_DAY
    return Rating(player.rating, min(MAX_RD, SCALE * math.sqrt(phi * phi + periods * sigma * sigma)), sigma)


def after_match(player: Rating, opponent: Rating, score: float, *, days_inactive: float = 0.0,
                max_change: float = 700.0, tau: float = DEFAULT_TAU) -> Rating:
    """One game as its own rating period, as Lichess rates each game at once: inactivity first,
    then the game; the deviation kept in [MIN_RD, MAX_RD] and the change capped at `max_change`."""
    new = rate(decayed(player, days_inactive), [(opponent, score)], tau=tau)
    change = max(-max_change, min(max_change, new.rating - player.rating))
    return Rating(player.rating + change, max(MIN_RD, min(MAX_RD, new.rd)), new.volatility)
