"""Parity of the exposure rule as Redis Lua (`CHOOSE_LUA` / `REGISTER_LUA`, run through the
production `ExposureStore` against the real local Redis) with the Python reference
(`services.cat.engine.exposure.choose_in_memory` / `InMemoryExposure`, whose module docstring
states the rule): both are driven with the same sequences of session registrations and
selections, and after every step they must have made the same decision (item, Sympson–Hetter
rejections, fallback flag) and hold the same counters N, A_i and S_i.

Scripted edge cases (zero counts, the r_max ceiling and its floating-point boundary, K = 0 and
K = 1, u == K, online K, an item reaching its limit, fallbacks and ties, mode "none", a session
registered twice) also check the decision itself; seeded random sequences (several items,
several examinees with their own exclusions, two banks, every mode) check parity at scale.
Keys live under the test's namespace prefix, which the `namespace` fixture deletes afterwards.
"""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from megacity.redis_keys import RedisKeys
from services.cat.engine.exposure import Choice, InMemoryExposure
from services.cat.state import ExposureStore, TenantRef

NAN = float("nan")


class Twin:
    """One bank's exposure counters twice: the Python reference and Redis Lua, compared on every step."""

    def __init__(self, redis: Any, namespace: str, bank_id: str = "bank1") -> None:
        self.redis = redis
        self.namespace = namespace
        self.tenant = TenantRef(1, str(uuid.uuid4()))
        self.bank_id = bank_id
        self.store = ExposureStore(redis, RedisKeys(prefix=namespace))
        self.ref = InMemoryExposure()
        self.steps = 0

    def _key(self, what: str) -> str:
        return self.store._bank(self.tenant, self.bank_id, what)

    async def register(self, session_id: str) -> int:
        want = self.ref.register(self.bank_id, session_id)
        got = await self.store.register(self.tenant, self.bank_id, session_id)
        assert got == want, f"register {session_id}: lua N={got}, reference N={want}"
        await self.same_counters()
        return got

    async def choose(self, candidates: Sequence[str], mode: str, r_max: float, uniforms: Sequence[float],
                     sh_k: Sequence[float]) -> Choice:
        self.steps += 1
        want = self.ref.choose(self.bank_id, candidates, mode, r_max, uniforms, sh_k)
        got = await self.store.choose(self.tenant, self.bank_id, candidates, mode, r_max, uniforms, sh_k)
        assert got == want, (f"step {self.steps} {mode} r_max={r_max} candidates={list(candidates)} "
                             f"u={list(uniforms)} K={list(sh_k)}: lua {got} != reference {want}")
        await self.same_counters()
        return got

    async def same_counters(self) -> None:
        ctr = self.ref.banks[self.bank_id]
        n = int(await self.redis.get(self._key("n")) or 0)
        adm = {k: int(v) for k, v in (await self.redis.hgetall(self._key("adm"))).items()}
        sel = {k: int(v) for k, v in (await self.redis.hgetall(self._key("sel"))).items()}
        assert n == ctr.n
        assert adm == {k: v for k, v in ctr.adm.items() if v}
        assert sel == {k: v for k, v in ctr.sel.items() if v}

    def adm(self, item: str) -> int:
        return self.ref.banks[self.bank_id].adm[item]


async def test_keys_stay_under_the_test_prefix(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    await twin.register("s1")
    await twin.choose(["a", "b"], "sympson_hetter", 1.0, [0.5, 0.5], [0.2, NAN])
    keys = sorted([k async for k in redis_client.scan_iter(match=f"{namespace}:*")])
    assert keys == sorted(twin._key(w) for w in ("n", "adm", "sel")) + [
        f"{namespace}:z:1:o:{twin.tenant.org_id}:cat:s:s1:counted"]


async def test_zero_counts_and_registration(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    # N = 0 counts as 1: with r_max 0.5 nothing fits (1 > 0.5), so the least exposed (first on ties) is given
    ch = await twin.choose(["a", "b", "c"], "r_max", 0.5, [0, 0, 0], [NAN] * 3)
    assert ch == Choice("a", (), True)
    # r_max 1 with N = 0: one use each
    assert (await twin.choose(["b", "a"], "r_max", 1.0, [0, 0], [NAN] * 2)) == Choice("b")
    assert (await twin.choose(["b", "c"], "r_max", 1.0, [0, 0], [NAN] * 2)) == Choice("c")
    # a session is counted once, however often it registers
    assert await twin.register("s1") == 1
    assert await twin.register("s1") == 1
    assert await twin.register("s2") == 2
    # an empty Sympson–Hetter lottery history: online K = min(1, r_max·N / 1) = 1 with r_max·N >= 1
    assert (await twin.choose(["d"], "sympson_hetter", 0.5, [0.99], [NAN])) == Choice("d")


async def test_r_max_ceiling_and_an_item_reaching_its_limit(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    for k in range(10):
        await twin.register(f"s{k}")
    # r_max 0.2 of N = 10: two uses of "a", then it is full and "b" is given instead
    for _ in range(2):
        assert (await twin.choose(["a", "b"], "r_max", 0.2, [0, 0], [NAN] * 2)).item_id == "a"
    assert twin.adm("a") == 2
    assert (await twin.choose(["a", "b"], "r_max", 0.2, [0, 0], [NAN] * 2)) == Choice("b")
    assert (await twin.choose(["a", "b"], "r_max", 0.2, [0, 0], [NAN] * 2)) == Choice("b")
    # both at the ceiling: fallback to the least exposed, first on ties; counters still move
    assert (await twin.choose(["b", "a"], "r_max", 0.2, [0, 0], [NAN] * 2)) == Choice("b", (), True)
    assert (await twin.choose(["a", "b", "c"], "r_max", 0.2, [0, 0, 0], [NAN] * 3)) == Choice("c")
    # mode none ignores the ceiling and takes the first candidate
    assert (await twin.choose(["a", "c"], "none", 0.2, [0, 0], [NAN] * 2)) == Choice("a")
    assert twin.adm("a") == 3


async def test_r_max_floating_point_boundary(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    for k in range(100):
        await twin.register(f"s{k}")
    assert 0.29 * 100 < 29  # r_max·N falls just short of 29 in binary floating point
    given = [(await twin.choose(["a", "b"], "r_max", 0.29, [0, 0], [NAN] * 2)).item_id for _ in range(30)]
    # the ceiling's epsilon admits the 29th use of "a" on both sides; the 30th goes to "b"
    assert given == ["a"] * 29 + ["b"]


async def test_sympson_hetter_k_zero_one_and_online(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    for k in range(20):
        await twin.register(f"s{k}")
    sh = "sympson_hetter"
    # K = 0 always loses (u >= 0), K = 1 always wins for u < 1
    assert (await twin.choose(["a", "b"], sh, 1.0, [0.0, 0.999], [0.0, 1.0])) == Choice("b", ("a",))
    # u == K loses (the draw must be strictly below K)
    assert (await twin.choose(["c", "b"], sh, 1.0, [0.5, 0.0], [0.5, 1.0])) == Choice("b", ("c",))
    assert (await twin.choose(["c", "b"], sh, 1.0, [1.0, 0.0], [1.0, 1.0])) == Choice("b", ("c",))
    # everyone loses: fallback to the least exposed ("b" was given, "a" and "c" never; first on
    # ties), nothing excluded, every lottery counted
    ch = await twin.choose(["b", "c", "a"], sh, 1.0, [0.1, 0.7, 0.2], [0.0, 0.3, 0.0])
    assert ch == Choice("c", (), True)
    assert twin.ref.banks[twin.bank_id].sel == {"a": 2, "b": 4, "c": 3}
    # online K = min(1, r_max·N / S): S_e goes 1, 2, ...; r_max 0.1 · N 20 = 2, so K = 1, 1, 2/3, 1/2
    for u, want in ((0.99, "e"), (0.99, "e"), (0.66, "e"), (0.67, "f")):
        await twin.redis.hdel(twin._key("adm"), "e")  # keep the ceiling out of this check...
        twin.ref.banks[twin.bank_id].adm.pop("e", None)  # ...on both sides alike
        assert (await twin.choose(["e", "f"], sh, 0.1, [u, 0.0], [NAN, NAN])).item_id == want


async def test_sympson_hetter_winner_at_the_ceiling_is_skipped_not_excluded(redis_client, namespace: str) -> None:
    twin = Twin(redis_client, namespace)
    for k in range(5):
        await twin.register(f"s{k}")
    sh = "sympson_hetter"
    # r_max 0.2 of N = 5: one use each
    assert (await twin.choose(["a", "b"], sh, 0.2, [0.0, 0.0], [1.0, 1.0])) == Choice("a")
    # "a" wins the lottery but is full: skipped, not rejected; "b" is given
    assert (await twin.choose(["a", "b"], sh, 0.2, [0.0, 0.0], [1.0, 1.0])) == Choice("b")
    # a loser before a full winner: only the loser is rejected
    assert (await twin.choose(["c", "a", "d"], sh, 0.2, [0.9, 0.0, 0.0], [0.5, 1.0, 1.0])) == Choice("d", ("c",))
    assert twin.ref.banks[twin.bank_id].sel == {"a": 3, "b": 1, "c": 1, "d": 1}


def _sequence_params() -> list[tuple[str, float, int]]:
    out = [("none", 0.2, 1)]
    for mode in ("r_max", "sympson_hetter"):
        for r_max, seed in ((0.05, 2), (0.2, 3), (0.29, 4), (0.5, 5), (1.0, 6)):
            out.append((mode, r_max, seed))
    return out


@pytest.mark.parametrize(("mode", "r_max", "seed"), _sequence_params())
async def test_random_sequences_match(redis_client, namespace: str, mode: str, r_max: float, seed: int) -> None:
    """Examinees on two banks start at random times and take up to 8 items each, interleaved;
    candidates come from the items an examinee has neither seen nor lost a lottery on, as in a
    session. Per-item K mixes online (NaN), 0, 1 and values between."""
    rng = np.random.default_rng(seed)
    items = [f"q{k:02d}" for k in range(16)]
    sh_k = {i: float(rng.choice([NAN, NAN, 0.0, 1.0, rng.uniform(0.05, 0.95)])) for i in items}
    twins = {b: Twin(redis_client, namespace, b) for b in ("bankA", "bankB")}
    examinees = [(f"e{k}", f"bank{'AB'[k % 2]}") for k in range(14)]
    seen: dict[str, set[str]] = {e: set() for e, _ in examinees}  # given or lost a lottery
    given: dict[str, int] = {e: 0 for e, _ in examinees}
    started: set[str] = set()
    fallbacks = rejections = 0
    for _ in range(14 * 8):
        e, bank = examinees[int(rng.integers(len(examinees)))]
        twin = twins[bank]
        if e not in started:
            started.add(e)
            await twin.register(e)
        pool = [i for i in items if i not in seen[e]]
        if given[e] >= 8 or not pool:
            continue
        m = int(rng.integers(1, min(5, len(pool)) + 1))
        cands = [pool[int(j)] for j in rng.permutation(len(pool))[:m]]
        uniforms = rng.random(m).tolist() if mode == "sympson_hetter" else [0.0] * m
        ch = await twin.choose(cands, mode, r_max, uniforms, [sh_k[c] for c in cands])
        given[e] += 1
        seen[e].add(ch.item_id)
        seen[e].update(ch.rejected)
        fallbacks += ch.fallback
        rejections += len(ch.rejected)
    assert sum(t.steps for t in twins.values()) > 50
    if mode == "sympson_hetter" and r_max >= 0.2:  # (below, r_max·N < 1 makes every step a fallback)
        assert rejections > 0  # the lottery was exercised, not just the ceiling
    if mode != "none" and r_max < 0.5:
        assert fallbacks > 0  # so was the fallback path
    for twin in twins.values():
        await twin.same_counters()
