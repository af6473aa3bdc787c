"""One CAT session's data and the engine steps that act on it (no I/O).

`SessionData` is everything needed to continue or rebuild a session (it is what the service keeps
in Redis): the items given in order with their scores (None while pending), θ, SE, content counts,
items excluded by Sympson–Hetter, and the outcome. `CatEngine` holds a bank and the session's
config and provides the steps: score responses (one θ update per batch), check the stopping
rule, and plan the next pick (ranked candidates for the exposure rule). Randomness comes from
`np.random.default_rng([seed, items given, purpose])`, so a session replays identically from its
seed and responses — which is what makes rebuilding from stored responses give the same items.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from services.cat.engine import stopping
from services.cat.engine.bank import ItemBank
from services.cat.engine.config import CatConfig
from services.cat.engine.content import area_order
from services.cat.engine.estimators import Estimate, Estimator, log_likelihood
from services.cat.engine.exposure import Choice
from services.cat.engine.selection import rank

_SEED_MASK = (1 << 63) - 1
MAX_EXCLUDED = 200


class CatError(Exception):
    """Bad input or a state conflict, with an HTTP-like status and a stable code."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail = status, code, detail


@dataclass
class SessionData:
    session_id: str
    bank_id: str
    bank_version: int
    config: dict[str, Any]
    seed: int
    theta: float
    se: float
    items: list[str] = field(default_factory=list)
    scores: list[int | None] = field(default_factory=list)
    area_counts: dict[str, int] = field(default_factory=dict)
    excluded: list[str] = field(default_factory=list)
    finished: bool = False
    stop_reason: str = ""
    classification: str = ""
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)

    @property
    def pending(self) -> list[str]:
        return [i for i, s in zip(self.items, self.scores) if s is None]

    @property
    def answered(self) -> list[tuple[str, int]]:
        return [(i, s) for i, s in zip(self.items, self.scores) if s is not None]

    def to_dict(self) -> dict[str, Any]:
        # shallow by design (asdict deep-copies and is ~100x slower); `config` is never mutated
        return {"session_id": self.session_id, "bank_id": self.bank_id, "bank_version": self.bank_version,
                "config": self.config, "seed": self.seed, "theta": self.theta, "se": self.se,
                "items": self.items, "scores": self.scores, "area_counts": self.area_counts,
                "excluded": self.excluded, "finished": self.finished, "stop_reason": self.stop_reason,
                "classification": self.classification, "created_at": self.created_at, "updated_at": self.updated_at}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> SessionData:
        return SessionData(**data)


@dataclass(frozen=True)
class Plan:
    """Ranked candidates for one pick, with the draws the exposure rule needs."""

    candidates: list[str]
    uniforms: list[float]
    sh_k: list[float]


class CatEngine:
    def __init__(self, bank: ItemBank, config: CatConfig) -> None:
        self.bank = bank
        self.config = config
        self.estimator = Estimator(config.estimator, config.start_theta)

    # -- creating ----------------------------------------------------------------------------
    def new_session(self, session_id: str, seed: int) -> SessionData:
        est = self.estimator.estimate(self.bank.params.take(np.empty(0, np.int64)), np.empty(0, np.int64))
        return SessionData(session_id=session_id, bank_id=self.bank.bank_id, bank_version=self.bank.version,
                           config=self.config.to_dict(), seed=int(seed), theta=est.theta, se=est.se)

    # -- scoring -----------------------------------------------------------------------------
    def estimate(self, s: SessionData, method: str | None = None) -> Estimate:
        answered = s.answered
        idx = self.bank.indices([i for i, _ in answered])
        x = np.fromiter((v for _, v in answered), dtype=np.int64, count=len(answered))
        return self.estimator.estimate(self.bank.params.take(idx), x, method)

    def apply_responses(self, s: SessionData, responses: Sequence[tuple[str, int]], *, rebuild: bool = False) -> int:
        """Record a batch of responses and update θ and SE once. Validates the whole batch
        before changing anything. Returns how many responses were new (repeats of an identical
        recorded response are accepted and ignored, so a retried call is harmless)."""
        if s.finished and not rebuild:
            raise CatError(412, "cat.session_finished", "the session is finished")
        pos = {item: k for k, item in enumerate(s.items)}
        seen: dict[str, int] = {}
        new: list[tuple[str, int]] = []
        for item_id, score in responses:
            k = self.bank.index.get(item_id)
            if k is None:
                raise CatError(400, "cat.unknown_item", f"item {item_id!r} is not in bank {self.bank.bank_id!r} "
                                                        f"version {self.bank.version}")
            ncat = int(self.bank.params.ncat[k])
            if not (isinstance(score, int) and 0 <= score < ncat):
                raise CatError(400, "cat.invalid_score", f"score for item {item_id!r} must be 0..{ncat - 1}")
            if item_id in seen:
                if seen[item_id] != score:
                    raise CatError(409, "cat.response_conflict", f"two different scores for item {item_id!r}")
                continue
            seen[item_id] = score
            if item_id in pos:
                old = s.scores[pos[item_id]]
                if old is None:
                    new.append((item_id, score))
                elif old != score:
                    raise CatError(409, "cat.response_conflict", f"item {item_id!r} already has score {old}")
            elif rebuild:
                new.append((item_id, score))
            else:
                raise CatError(400, "cat.item_not_administered", f"item {item_id!r} was not given in this session")
        if rebuild:
            blocked = set(self.bank.enemies_of(self.bank.indices([i for i, _ in new])).tolist())
            clash = [i for i, _ in new if self.bank.index[i] in blocked]
            if clash:
                raise CatError(400, "cat.enemy_items", f"prior responses hold enemy items: {clash[:5]}")
        for item_id, score in new:
            if item_id in pos:
                s.scores[pos[item_id]] = score
            else:
                pos[item_id] = len(s.items)
                s.items.append(item_id)
                s.scores.append(score)
                area = self.bank.area_of(self.bank.index[item_id])
                s.area_counts[area] = s.area_counts.get(area, 0) + 1
        if new or rebuild:
            est = self.estimate(s)
            s.theta, s.se = est.theta, est.se
            s.updated_at = time.time()
        return len(new)

    # -- stopping ----------------------------------------------------------------------------
    def stop_check(self, s: SessionData) -> stopping.StopDecision:
        if s.pending:
            return stopping.StopDecision(False)
        st = self.config.stopping
        loglik = None
        if st.classification == "sprt":
            answered = s.answered
            items = self.bank.params.take(self.bank.indices([i for i, _ in answered]))
            x = np.array([v for _, v in answered], dtype=np.int64)
            loglik = lambda t: log_likelihood(t, items, x)  # noqa: E731
        return stopping.decide(st, len(s.answered), s.theta, s.se, loglik)

    def finish(self, s: SessionData, reason: str, classification: str | None = None) -> None:
        if s.finished:
            return
        keep = [k for k, v in enumerate(s.scores) if v is not None]
        if len(keep) != len(s.items):
            s.items = [s.items[k] for k in keep]
            s.scores = [s.scores[k] for k in keep]
            counts: dict[str, int] = {}
            for item_id in s.items:
                area = self.bank.area_of(self.bank.index[item_id])
                counts[area] = counts.get(area, 0) + 1
            s.area_counts = counts
            est = self.estimate(s)
            s.theta, s.se = est.theta, est.se
        s.finished = True
        s.stop_reason = reason
        s.classification = classification if classification is not None else stopping.classify(
            s.theta, self.config.stopping.cut_score)
        s.updated_at = time.time()

    # -- selecting ---------------------------------------------------------------------------
    def rng(self, s: SessionData, purpose: int) -> np.random.Generator:
        return np.random.default_rng([int(s.seed) & _SEED_MASK, len(s.items), purpose])

    def blocked(self, s: SessionData) -> np.ndarray:
        given = self.bank.indices(s.items)
        parts = [given, self.bank.enemies_of(given.tolist())]
        if s.excluded:
            parts.append(self.bank.indices(s.excluded))
        return np.unique(np.concatenate(parts)) if given.size or s.excluded else given

    def plan(self, s: SessionData) -> Plan | None:
        """Ranked candidates for the next item, or None when no item can be given."""
        cfg = self.config
        bank = self.bank
        m = 1 if cfg.exposure.method == "none" else cfg.exposure.candidates
        rng = self.rng(s, 1)
        blocked = self.blocked(s)
        n_answered = len(s.scores) - len(s.pending)
        args: dict[str, Any] = dict(m=m, n_answered=n_answered, n_given=len(s.items), max_items=cfg.stopping.max_items, rng=rng)
        ranked = np.empty(0, np.int64)
        if cfg.content.blueprint:
            for area in area_order(cfg.content.blueprint, s.area_counts, len(s.items)):
                try:
                    code = bank.area_names.index(area)
                except ValueError:
                    continue
                pool = bank.area_members[code]
                local = bank.area_pos[blocked[bank.area[blocked] == code]] if blocked.size else blocked
                ranked = rank(bank, cfg.selection, s.theta, pool, local, **args)
                if ranked.size:
                    break
        else:
            ranked = rank(bank, cfg.selection, s.theta, None, blocked, **args)
        if ranked.size == 0:
            return None
        uniforms = rng.random(ranked.size).tolist() if cfg.exposure.method == "sympson_hetter" else [0.0] * ranked.size
        return Plan([bank.ids[i] for i in ranked], uniforms, bank.sh_k[ranked].tolist())

    def record(self, s: SessionData, choice: Choice) -> None:
        s.items.append(choice.item_id)
        s.scores.append(None)
        area = self.bank.area_of(self.bank.index[choice.item_id])
        s.area_counts[area] = s.area_counts.get(area, 0) + 1
        if choice.rejected:
            # Sympson–Hetter losers stay out for this session; the list is capped (oldest first
            # out) so the state stays small.
            s.excluded = (s.excluded + list(choice.rejected))[-MAX_EXCLUDED:]
        s.updated_at = time.time()

    def next_items(self, s: SessionData, count: int, exposure: Any, bank_key: str) -> list[str]:
        """Synchronous NextItem against an in-process exposure store (simulations, benchmarks)."""
        if s.finished:
            return []
        if s.pending:
            return s.pending
        decision = self.stop_check(s)
        if decision.stop:
            self.finish(s, decision.reason, decision.classification)
            return []
        room = self.config.stopping.max_items - len(s.items)
        for _ in range(min(count, room)):
            plan = self.plan(s)
            if plan is None:
                break
            self.record(s, exposure.choose(bank_key, plan.candidates, self.config.exposure.method,
                                           self.config.exposure.r_max, plan.uniforms, plan.sh_k))
        if not s.pending:
            self.finish(s, stopping.BANK_EXHAUSTED)
        return s.pending


def item_ids(responses: Iterable[Any]) -> list[str]:
    return [r[0] for r in responses]
