"""Exposure control over counters kept per item bank: N (sessions started), A_i (times item i
was given) and S_i (times item i was offered to the Sympson–Hetter lottery).

Rules, applied to the selection's ranked candidates (best first):

- none: the first candidate.
- r_max: the first candidate whose exposure after this use stays within the ceiling,
  A_i + 1 <= r_max · N (an item-eligibility rule, like catsim's MaxInfoSelector(r_max) but
  checked and counted atomically).
- sympson_hetter: walk the candidates; each one is selected (S_i += 1) and given with
  probability K_i — the item's precomputed `sh_k`, or, online, K_i = min(1, r_max · N / S_i)
  so that P(select)·K stays at r_max. Items that lose the lottery are excluded for the rest of
  that session (classic SH). The r_max ceiling above still applies to winners, as a safety net
  (a winner at the ceiling is skipped, not excluded).

If no candidate qualifies (only early on, while N is small), the least-exposed candidate is given
(first one on ties) and nothing is excluded. Uniform draws come from the session's seeded RNG,
so a session is deterministic given its seed and the counters.

`choose_in_memory` is the reference implementation (simulations, benchmarks); the Redis store in
`services.cat.state` runs `CHOOSE_LUA`, the same rule as one atomic script.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

EPS = 1e-9


@dataclass(frozen=True)
class Choice:
    item_id: str
    rejected: tuple[str, ...] = ()
    fallback: bool = False


@dataclass
class BankCounters:
    n: int = 0
    adm: Counter = field(default_factory=Counter)
    sel: Counter = field(default_factory=Counter)
    sessions: set = field(default_factory=set)


def choose_in_memory(ctr: BankCounters, candidates: Sequence[str], mode: str, r_max: float,
                     uniforms: Sequence[float], sh_k: Sequence[float]) -> Choice:
    if not candidates:
        raise ValueError("no candidates")
    if mode == "none":
        ctr.adm[candidates[0]] += 1
        return Choice(candidates[0])
    cap = r_max * max(ctr.n, 1)
    rejected: list[str] = []
    best, best_a = candidates[0], None  # the least admitted candidate (candidates is not empty)
    for j, c in enumerate(candidates):
        a = ctr.adm[c]
        if best_a is None or a < best_a:
            best, best_a = c, a
        if mode == "sympson_hetter":
            ctr.sel[c] += 1
            k = sh_k[j] if not math.isnan(sh_k[j]) else min(1.0, cap / ctr.sel[c])
            if uniforms[j] >= k:
                rejected.append(c)
                continue
        if a + 1 > cap + EPS:
            continue
        ctr.adm[c] += 1
        return Choice(c, tuple(rejected))
    ctr.adm[best] += 1
    return Choice(best, (), True)


class InMemoryExposure:
    """Exposure counters in process memory (one process, e.g. a simulation)."""

    def __init__(self) -> None:
        self.banks: dict[str, BankCounters] = defaultdict(BankCounters)

    def register(self, bank_id: str, session_id: str) -> int:
        ctr = self.banks[bank_id]
        if session_id not in ctr.sessions:
            ctr.sessions.add(session_id)
            ctr.n += 1
        return ctr.n

    def choose(self, bank_id: str, candidates: Sequence[str], mode: str, r_max: float,
               uniforms: Sequence[float], sh_k: Sequence[float]) -> Choice:
        return choose_in_memory(self.banks[bank_id], candidates, mode, r_max, uniforms, sh_k)

    def rates(self, bank_id: str) -> dict[str, float]:
        ctr = self.banks[bank_id]
        return {k: v / max(ctr.n, 1) for k, v in ctr.adm.items()}


# KEYS: 1 = N (string), 2 = A (hash item -> count), 3 = S (hash item -> count)
# ARGV: 1 = mode, 2 = r_max, 3 = m, then m candidates, m uniforms, m sh_k ("" = online)
# Returns {chosen, fallback flag, rejected...}.
CHOOSE_LUA = """
local mode = ARGV[1]
local rmax = tonumber(ARGV[2])
local m = tonumber(ARGV[3])
if mode == 'none' then
  redis.call('HINCRBY', KEYS[2], ARGV[4], 1)
  return {ARGV[4], '0'}
end
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < 1 then n = 1 end
local cap = rmax * n
local rejected = {}
local best, best_a = nil, nil
for j = 1, m do
  local c = ARGV[3 + j]
  local a = tonumber(redis.call('HGET', KEYS[2], c) or '0')
  if best_a == nil or a < best_a then best = c; best_a = a end
  local take = true
  if mode == 'sympson_hetter' then
    local s = redis.call('HINCRBY', KEYS[3], c, 1)
    local k = tonumber(ARGV[3 + 2 * m + j])
    if k == nil then k = math.min(1, cap / s) end
    if tonumber(ARGV[3 + m + j]) >= k then
      take = false
      rejected[#rejected + 1] = c
    end
  end
  if take and a + 1 <= cap + 1e-9 then
    redis.call('HINCRBY', KEYS[2], c, 1)
    local out = {c, '0'}
    for i = 1, #rejected do out[#out + 1] = rejected[i] end
    return out
  end
end
redis.call('HINCRBY', KEYS[2], best, 1)
return {best, '1'}
"""

# KEYS: 1 = N, 2 = the session's "counted" marker. ARGV: 1 = marker TTL seconds. Returns N.
REGISTER_LUA = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then
  return redis.call('INCR', KEYS[1])
end
return tonumber(redis.call('GET', KEYS[1]) or '0')
"""
