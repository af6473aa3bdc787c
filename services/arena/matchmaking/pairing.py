"""Pool pairing as Lichess runs it (lila's `MatchMaking`): the cost of a pair is its rating gap
minus a bonus for the rounds waited (capped), a pair costing more than `pair_max_gap` is refused,
and the pairs are a minimum-weight maximum-cardinality matching (Edmonds' blossom, networkx) over
the acceptable pairs — not a greedy nearest-rating pass, which strands players it could have paired
and pays larger gaps (`greedy_pair` is kept for the benchmark and the tests that show it).

Pure functions over the players waiting in one pool at `now` (seconds, any clock the join times
share); the worker (matchmaking/worker.py) and the benchmark call the same code.

- Fairness: the bonus of a pair is the smaller of its two players' bonuses (as lila's
  `missBonus(a) atMost missBonus(b)`), so a pair is accepted only when its gap is inside BOTH
  players' windows — a newcomer is never handed to a far-off player because that one waited long.
- The window widens with waiting: `pair_max_gap + min(pair_wait_bonus × rounds, pair_wait_bonus_cap)`,
  rounds counted from the join time in `pair_interval_seconds`, so every replica sees the same window.
- Scale: each player is offered its `NEIGHBOURS` nearest acceptable opponents above it in rating
  (the optimum on a rating line pairs near neighbours), and a large pool is matched in rating-ordered
  chunks of `CHUNK` players whose unpaired players carry into the next chunk; networkx's blossom is
  cubic in pure Python, and 2,000 players in one chunk take ~13 s, in chunks ~0.5 s
  (bench/arena_matchmaking.py measures both and the gap to an unchunked matching).
"""
from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import networkx as nx

NEIGHBOURS = 6
CHUNK = 64


class PairingRules(Protocol):
    """The settings pairing reads (ArenaSettings has them; the benchmark varies them)."""

    @property
    def pair_interval_seconds(self) -> float: ...

    @property
    def pair_max_gap(self) -> float: ...

    @property
    def pair_wait_bonus(self) -> float: ...

    @property
    def pair_wait_bonus_cap(self) -> float: ...


@dataclass(frozen=True)
class Waiting:
    """One player in a pool: rating used for pairing and when it joined (seconds)."""

    user_id: str
    rating: float
    joined_at: float


@dataclass(frozen=True)
class Pair:
    a: Waiting
    b: Waiting
    cost: float

    @property
    def gap(self) -> float:
        return abs(self.a.rating - self.b.rating)

    def users(self) -> frozenset[str]:
        return frozenset((self.a.user_id, self.b.user_id))


def rounds_waited(p: Waiting, now: float, rules: PairingRules) -> int:
    return max(0, int((now - p.joined_at) // rules.pair_interval_seconds))


def wait_bonus(p: Waiting, now: float, rules: PairingRules) -> float:
    return min(rules.pair_wait_bonus * rounds_waited(p, now, rules), rules.pair_wait_bonus_cap)


def window(p: Waiting, now: float, rules: PairingRules) -> float:
    """The largest rating gap `p` accepts now."""
    return rules.pair_max_gap + wait_bonus(p, now, rules)


def pair_cost(a: Waiting, b: Waiting, now: float, rules: PairingRules) -> float | None:
    """Gap minus the smaller of the two bonuses; None when refused (outside either window)."""
    cost = abs(a.rating - b.rating) - min(wait_bonus(a, now, rules), wait_bonus(b, now, rules))
    return cost if cost <= rules.pair_max_gap else None


def _edges(order: Sequence[Waiting], now: float, rules: PairingRules,
           blocked: Collection[frozenset[str]]) -> dict[tuple[int, int], float]:
    """Acceptable pairs (i < j in rating order): each player's NEIGHBOURS nearest above it."""
    edges: dict[tuple[int, int], float] = {}
    for i, a in enumerate(order):
        reach, found = window(a, now, rules), 0
        for j in range(i + 1, len(order)):
            b = order[j]
            if b.rating - a.rating > reach or found >= NEIGHBOURS:
                break
            cost = pair_cost(a, b, now, rules)
            if cost is not None and frozenset((a.user_id, b.user_id)) not in blocked:
                edges[(i, j)] = cost
                found += 1
    return edges


def _chunks(n: int, edges: Iterable[tuple[int, int]], size: int) -> list[range]:
    """Cut the rating order where no pair crosses, or every `size` players at the latest."""
    reach = list(range(n))
    for i, j in edges:
        reach[i] = max(reach[i], j)
    out, start, furthest = [], 0, -1
    for p in range(n):
        furthest = max(furthest, reach[p])
        if furthest <= p or p - start + 1 >= size:
            out.append(range(start, p + 1))
            start = p + 1
    return out


def _sorted(waiting: Iterable[Waiting]) -> list[Waiting]:
    return sorted(waiting, key=lambda p: (p.rating, p.user_id))


def pair(waiting: Iterable[Waiting], now: float, rules: PairingRules, *,
         blocked: Collection[frozenset[str]] = frozenset(), chunk: int = CHUNK) -> list[Pair]:
    """One pairing round of a pool: minimum-weight maximum-cardinality matching over acceptable
    pairs, never a pair in `blocked` (e.g. the daily rated limit against one opponent)."""
    order = _sorted(waiting)
    edges = _edges(order, now, rules, blocked)
    adjacent: dict[int, list[int]] = {}
    for i, j in edges:
        adjacent.setdefault(i, []).append(j)
        adjacent.setdefault(j, []).append(i)
    pairs: list[Pair] = []
    carry: list[int] = []
    for part in _chunks(len(order), edges, chunk):
        nodes = set(carry) | set(part)
        graph: nx.Graph[int] = nx.Graph()
        # Integer weights (hundredths of a rating point): networkx's blossom is exact on integers.
        graph.add_weighted_edges_from((i, j, round(edges[(i, j)] * 100)) for i in nodes for j in adjacent.get(i, ())
                                      if i < j and j in nodes)
        matched: set[int] = set()
        for u, v in nx.min_weight_matching(graph):
            i, j = min(u, v), max(u, v)
            pairs.append(Pair(order[i], order[j], edges[(i, j)]))
            matched |= {i, j}
        carry = [i for i in sorted(nodes - matched) if any(j > part[-1] for j in adjacent.get(i, ()))]
    return pairs


def greedy_pair(waiting: Iterable[Waiting], now: float, rules: PairingRules, *,
                blocked: Collection[frozenset[str]] = frozenset()) -> list[Pair]:
    """Nearest rating first over the same acceptable pairs: the baseline blossom is measured against."""
    order = _sorted(waiting)
    edges = _edges(order, now, rules, blocked)
    taken: set[int] = set()
    pairs: list[Pair] = []
    for (i, j), cost in sorted(edges.items(), key=lambda e: (e[1], e[0])):
        if i not in taken and j not in taken:
            taken |= {i, j}
            pairs.append(Pair(order[i], order[j], cost))
    return pairs
