"""An item bank as vectorised arrays: parameters, content areas, enemy sets and Sympson–Hetter
control parameters, with the lookups selection needs precomputed once per bank version.

`ItemSpec` is the plain description of one item (what LoadBank carries); `ItemBank.build`
validates a list of them and raises `BankError` with a stable code on bad input. `BankCache`
keeps built banks per (tenant, bank id, version) with a bound on how many items it holds.
"""
from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from megacity.irt import GPCM, GRM, LOGISTIC, DichotomousInfo, ItemArrays

ID_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,128}$")
MAX_CATEGORIES = 10
A_MAX = 10.0
B_ABS_MAX = 10.0


class BankError(ValueError):
    """Invalid bank content; `code` is stable (cat.invalid_bank.*)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ItemSpec:
    item_id: str
    model: int = LOGISTIC
    a: float = 1.0
    b: float = 0.0
    c: float = 0.0
    d: float = 1.0
    thresholds: tuple[float, ...] = ()
    content_area: str = ""
    sh_k: float | None = None


@dataclass
class ItemBank:
    bank_id: str
    version: int
    ids: list[str]
    index: dict[str, int]
    params: ItemArrays
    area_names: list[str]  # sorted; "" (no area) is a valid name
    area: np.ndarray  # int32 (n,): index into area_names
    area_members: list[np.ndarray]  # bank indices per area, ascending
    area_pos: np.ndarray  # position of each item inside its area's member array
    enemy_ptr: np.ndarray  # CSR: enemies of item i are enemy_idx[enemy_ptr[i]:enemy_ptr[i+1]]
    enemy_idx: np.ndarray
    sh_k: np.ndarray  # float64 (n,), NaN = estimate online from counters
    dich_info: DichotomousInfo | None  # fast path when every item is dichotomous
    b_range: tuple[float, float] = (0.0, 0.0)
    nbytes: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.ids)

    @property
    def all_dichotomous(self) -> bool:
        return self.dich_info is not None

    def enemies_of(self, idx: Iterable[int]) -> np.ndarray:
        parts = [self.enemy_idx[self.enemy_ptr[i]:self.enemy_ptr[i + 1]] for i in idx]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def indices(self, item_ids: Sequence[str]) -> np.ndarray:
        return np.fromiter((self.index[i] for i in item_ids), dtype=np.int64, count=len(item_ids))

    def area_of(self, idx: int) -> str:
        return self.area_names[int(self.area[idx])]

    @staticmethod
    def build(bank_id: str, version: int, items: Sequence[ItemSpec], enemy_sets: Sequence[Sequence[str]] = (),
              D: float = 1.0) -> ItemBank:
        if not items:
            raise BankError("cat.invalid_bank.empty", "an item bank needs at least one item")
        if not (0.1 <= D <= 2.0):
            raise BankError("cat.invalid_bank.scaling_constant", "scaling constant D must be in [0.1, 2]")
        n = len(items)
        kmax = max(2, max((len(it.thresholds) + 1 for it in items if it.model != LOGISTIC), default=2))
        if kmax > MAX_CATEGORIES:
            raise BankError("cat.invalid_bank.categories", f"at most {MAX_CATEGORIES} score categories per item")
        model = np.zeros(n, np.int8)
        a, b, c, d = np.empty(n), np.full(n, np.nan), np.zeros(n), np.ones(n)
        thr = np.full((n, kmax - 1), np.nan)
        ncat = np.full(n, 2, np.int16)
        sh_k = np.full(n, np.nan)
        ids: list[str] = []
        index: dict[str, int] = {}
        areas: list[str] = []
        for i, it in enumerate(items):
            where = f"item {i} ({it.item_id!r})"
            if not ID_RE.match(it.item_id or ""):
                raise BankError("cat.invalid_bank.item_id", f"{where}: item_id must match {ID_RE.pattern}")
            if it.item_id in index:
                raise BankError("cat.invalid_bank.duplicate_item", f"{where}: duplicate item_id")
            index[it.item_id] = i
            ids.append(it.item_id)
            if not (math.isfinite(it.a) and 0 < it.a <= A_MAX):
                raise BankError("cat.invalid_bank.discrimination", f"{where}: a must be in (0, {A_MAX}]")
            a[i] = it.a
            if it.model == LOGISTIC:
                if not (math.isfinite(it.b) and abs(it.b) <= B_ABS_MAX):
                    raise BankError("cat.invalid_bank.difficulty", f"{where}: b must be in [-{B_ABS_MAX}, {B_ABS_MAX}]")
                if not (math.isfinite(it.c) and math.isfinite(it.d) and 0 <= it.c < it.d <= 1 and it.c < 1):
                    raise BankError("cat.invalid_bank.asymptotes", f"{where}: need 0 <= c < d <= 1")
                if it.thresholds:
                    raise BankError("cat.invalid_bank.thresholds", f"{where}: dichotomous items take no thresholds")
                b[i], c[i], d[i] = it.b, it.c, it.d
            elif it.model in (GRM, GPCM):
                t = list(it.thresholds)
                if not t:
                    raise BankError("cat.invalid_bank.thresholds", f"{where}: polytomous items need thresholds")
                if not all(math.isfinite(x) and abs(x) <= B_ABS_MAX for x in t):
                    raise BankError("cat.invalid_bank.thresholds", f"{where}: thresholds must be finite, |b| <= {B_ABS_MAX}")
                if it.model == GRM and any(t[k] >= t[k + 1] for k in range(len(t) - 1)):
                    raise BankError("cat.invalid_bank.thresholds", f"{where}: GRM boundaries must increase")
                model[i] = it.model
                thr[i, :len(t)] = t
                ncat[i] = len(t) + 1
            else:
                raise BankError("cat.invalid_bank.model", f"{where}: unknown model {it.model}")
            if it.sh_k is not None:
                if not (math.isfinite(it.sh_k) and 0 <= it.sh_k <= 1):
                    raise BankError("cat.invalid_bank.sh_k", f"{where}: sh_k must be in [0, 1]")
                sh_k[i] = it.sh_k
            if len(it.content_area) > 64:
                raise BankError("cat.invalid_bank.content_area", f"{where}: content_area longer than 64")
            areas.append(it.content_area)
        area_names = sorted(set(areas))
        area_code = {name: k for k, name in enumerate(area_names)}
        area = np.fromiter((area_code[x] for x in areas), dtype=np.int32, count=n)
        members = [np.flatnonzero(area == k) for k in range(len(area_names))]
        area_pos = np.empty(n, np.int64)
        for mem in members:
            area_pos[mem] = np.arange(mem.size)
        enemy_ptr, enemy_idx = _enemies(n, index, enemy_sets)
        params = ItemArrays(model, a, b, c, d, thr, ncat, float(D))
        dich = DichotomousInfo(a, b, c, d, float(D)) if np.all(model == LOGISTIC) else None
        bvals = np.concatenate([b[~np.isnan(b)], thr[~np.isnan(thr)]])
        bank = ItemBank(bank_id, int(version), ids, index, params, area_names, area, members, area_pos,
                        enemy_ptr, enemy_idx, sh_k, dich, (float(bvals.min()), float(bvals.max())))
        bank.nbytes = int(sum(x.nbytes for x in (a, b, c, d, thr, ncat, model, area, area_pos, sh_k, enemy_idx))
                          + (6 * 8 * n if dich else 0) + 100 * n)
        return bank


def _enemies(n: int, index: dict[str, int], enemy_sets: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
    pairs: list[tuple[int, int]] = []
    for s, group in enumerate(enemy_sets):
        members = []
        for item_id in group:
            if item_id not in index:
                raise BankError("cat.invalid_bank.enemy_item", f"enemy set {s}: unknown item {item_id!r}")
            members.append(index[item_id])
        members = sorted(set(members))
        for i in members:
            pairs.extend((i, j) for j in members if j != i)
    if not pairs:
        return np.zeros(n + 1, np.int64), np.empty(0, np.int64)
    arr = np.unique(np.asarray(pairs, np.int64), axis=0)
    counts = np.bincount(arr[:, 0], minlength=n)
    ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ptr, arr[:, 1].copy()


class BankCache:
    """Built banks keyed by (zone, org, bank id, version), least recently used evicted first once
    more than `max_items` items are held. Thread-safe; a newer version does not evict an older
    one by itself (sessions pinned to it may still run) — `invalidate` does."""

    def __init__(self, max_items: int = 1_000_000) -> None:
        self.max_items = max_items
        self._banks: OrderedDict[tuple, ItemBank] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(zone_id: int, org_id: str, bank_id: str, version: int) -> tuple:
        return (int(zone_id), str(org_id), bank_id, int(version))

    def get(self, key: tuple) -> ItemBank | None:
        with self._lock:
            bank = self._banks.get(key)
            if bank is not None:
                self._banks.move_to_end(key)
            return bank

    def put(self, key: tuple, bank: ItemBank) -> None:
        with self._lock:
            self._banks[key] = bank
            self._banks.move_to_end(key)
            total = sum(b.n for b in self._banks.values())
            while total > self.max_items and len(self._banks) > 1:
                _, old = self._banks.popitem(last=False)
                total -= old.n

    def invalidate(self, zone_id: int, org_id: str, bank_id: str, below_version: int | None = None) -> int:
        """Drop cached versions of a bank (all, or those older than `below_version`)."""
        with self._lock:
            doomed = [k for k in self._banks if k[:3] == (int(zone_id), str(org_id), bank_id)
                      and (below_version is None or k[3] < below_version)]
            for k in doomed:
                del self._banks[k]
            return len(doomed)

    def __len__(self) -> int:
        return len(self._banks)
