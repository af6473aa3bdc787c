"""Engine rules without I/O: selection methods, content balancing, enemy items, exposure rules,
stopping, batches, determinism, and bank validation."""
from __future__ import annotations

import numpy as np
import pytest

from megacity.irt import GPCM, GRM
from services.cat.engine.bank import BankCache, BankError, ItemBank, ItemSpec
from services.cat.engine.config import (
    CatConfig,
    ConfigError,
    ContentConfig,
    EstimatorConfig,
    ExposureConfig,
    SelectionConfig,
    StoppingConfig,
)
from services.cat.engine.exposure import BankCounters, InMemoryExposure, choose_in_memory
from services.cat.engine.session import CatEngine, CatError
from services.cat.engine.simulation import random_3pl_bank


@pytest.fixture(scope="module")
def bank() -> ItemBank:
    return random_3pl_bank(600, 21, areas=3)


def cfg(**kw) -> CatConfig:
    return CatConfig(**kw).validate()


def run(engine: CatEngine, sid: str, seed: int, true: float, exposure=None) -> list[str]:
    exposure = exposure or InMemoryExposure()
    exposure.register("b", sid)
    s = engine.new_session(sid, seed)
    rng = np.random.default_rng(seed)
    while items := engine.next_items(s, 1, exposure, "b"):
        p = engine.bank.params
        i = engine.bank.index[items[0]]
        prob = p.c[i] + (1 - p.c[i]) / (1 + np.exp(-p.a[i] * (true - p.b[i])))
        engine.apply_responses(s, [(items[0], int(rng.random() < prob))])
    return s.items


@pytest.mark.parametrize("method", ["max_info", "randomesque", "kl", "progressive"])
def test_every_selection_method_runs_and_is_deterministic(bank: ItemBank, method: str) -> None:
    engine = CatEngine(bank, cfg(selection=SelectionConfig(method=method), stopping=StoppingConfig(10, 10)))
    first = run(engine, "s", 42, 0.5)
    assert len(first) == 10 and len(set(first)) == 10
    assert run(engine, "s", 42, 0.5) == first  # same seed, same answers: same test


def test_randomesque_and_progressive_vary_with_the_seed(bank: ItemBank) -> None:
    for method in ("randomesque", "progressive"):
        engine = CatEngine(bank, cfg(selection=SelectionConfig(method=method), stopping=StoppingConfig(5, 5)))
        firsts = {run(engine, f"s{k}", k, 0.0)[0] for k in range(12)}
        assert len(firsts) > 2
    engine = CatEngine(bank, cfg(selection=SelectionConfig(method="randomesque", randomesque_k=4)))
    s = engine.new_session("x", 1)
    info_order = CatEngine(bank, cfg(exposure=ExposureConfig(method="r_max", candidates=4))).plan(s).candidates
    picks = {CatEngine(bank, cfg(selection=SelectionConfig(method="randomesque", randomesque_k=4))).plan(
        engine.new_session("x", seed)).candidates[0] for seed in range(40)}
    assert picks <= set(info_order[:4]) and len(picks) >= 3


def test_kl_prefers_informative_items_near_theta(bank: ItemBank) -> None:
    engine = CatEngine(bank, cfg(selection=SelectionConfig(method="kl")))
    s = engine.new_session("s", 1)
    chosen = bank.index[engine.plan(s).candidates[0]]
    info = bank.dich_info(0.0)
    assert info[chosen] > np.quantile(info, 0.95)


def test_content_balancing_hits_the_blueprint(bank: ItemBank) -> None:
    bp = {"area1": 0.5, "area2": 0.3, "area3": 0.2}
    engine = CatEngine(bank, cfg(content=ContentConfig(bp), stopping=StoppingConfig(10, 10)))
    for k in range(5):
        items = run(engine, f"s{k}", k, float(k) - 2)
        counts = {a: sum(bank.area_of(bank.index[i]) == a for i in items) for a in bp}
        assert counts == {"area1": 5, "area2": 3, "area3": 2}


def test_enemy_items_are_never_both_given() -> None:
    specs = [ItemSpec(f"i{k}", a=2.0, b=0.0 + 0.01 * k) for k in range(6)] + [ItemSpec("far", a=0.5, b=3.0)]
    bank = ItemBank.build("b", 1, specs, enemy_sets=[["i0", "i1", "i2"], ["i3", "i4"]])
    engine = CatEngine(bank, cfg(stopping=StoppingConfig(4, 4)))
    items = run(engine, "s", 1, 0.0)
    assert len({"i0", "i1", "i2"} & set(items)) == 1 and len({"i3", "i4"} & set(items)) == 1
    s = engine.new_session("t", 1)
    with pytest.raises(CatError) as err:
        engine.apply_responses(s, [("i0", 1), ("i1", 0)], rebuild=True)
    assert err.value.code == "cat.enemy_items"


def test_r_max_rule_and_fallback() -> None:
    ctr = BankCounters(n=10)
    ctr.adm.update({"a": 2, "b": 1})
    nan = float("nan")
    # r_max 0.2 of 10 sessions: 2 uses allowed; "a" is full, "b" may take one more.
    assert choose_in_memory(ctr, ["a", "b"], "r_max", 0.2, [0, 0], [nan, nan]).item_id == "b"
    assert ctr.adm["b"] == 2
    fb = choose_in_memory(ctr, ["a", "b"], "r_max", 0.2, [0, 0], [nan, nan])
    assert fb.fallback and fb.item_id == "a"  # both full: least exposed, first on ties


def test_sympson_hetter_lottery_and_exclusions() -> None:
    ctr = BankCounters(n=100)
    nan = float("nan")
    # precomputed K: item "a" (K = 0.3) loses with u = 0.5 and is excluded; "b" (K = 1) is given
    ch = choose_in_memory(ctr, ["a", "b"], "sympson_hetter", 0.2, [0.5, 0.9], [0.3, 1.0])
    assert ch.item_id == "b" and ch.rejected == ("a",) and ctr.sel["a"] == 1
    # online K = min(1, r_max N / S): an item offered 40 times in 100 sessions has K = 0.5
    ctr.sel["c"] = 39
    assert choose_in_memory(ctr, ["c", "b"], "sympson_hetter", 0.2, [0.49, 0.0], [nan, nan]).item_id == "c"
    ctr.sel["c"] = 79  # now K = 0.25
    assert choose_in_memory(ctr, ["c", "b"], "sympson_hetter", 0.2, [0.49, 0.0], [nan, nan]).item_id == "b"


def test_batch_updates_theta_once_and_stopping_rules(bank: ItemBank) -> None:
    engine = CatEngine(bank, cfg(stopping=StoppingConfig(min_items=3, max_items=30, se_threshold=0.45)))
    exp = InMemoryExposure()
    s = engine.new_session("s", 3)
    items = engine.next_items(s, 5, exp, "b")
    assert len(items) == 5 and s.pending == items
    assert engine.next_items(s, 5, exp, "b") == items  # pending items come back
    calls = []
    original = engine.estimator.estimate
    engine.estimator.estimate = lambda *a, **k: calls.append(1) or original(*a, **k)
    engine.apply_responses(s, [(i, 1) for i in items[:3]])
    assert len(calls) == 1
    engine.apply_responses(s, [(items[0], 1)])  # a repeat is a no-op
    assert len(calls) == 1
    with pytest.raises(CatError) as err:
        engine.apply_responses(s, [(items[0], 0)])
    assert err.value.code == "cat.response_conflict"
    with pytest.raises(CatError) as err:
        engine.apply_responses(s, [("i000599" if "i000599" not in items else "i000598", 1)])
    assert err.value.code == "cat.item_not_administered"
    with pytest.raises(CatError) as err:
        engine.apply_responses(s, [(items[3], 2)])
    assert err.value.code == "cat.invalid_score"
    engine.apply_responses(s, [(items[3], 0), (items[4], 1)])
    while engine.next_items(s, 1, exp, "b"):
        engine.apply_responses(s, [(s.pending[0], len(s.items) % 2)])
    assert s.finished and s.stop_reason in ("se_reached", "max_items")
    if s.stop_reason == "se_reached":
        assert s.se <= 0.45


def test_classification_stops_early(bank: ItemBank) -> None:
    for method in ("ci", "sprt"):
        engine = CatEngine(bank, cfg(stopping=StoppingConfig(min_items=3, max_items=40, classification=method,
                                                              cut_score=-1.0)))
        exp = InMemoryExposure()
        s = engine.new_session("s", 1)
        while items := engine.next_items(s, 1, exp, "b"):
            engine.apply_responses(s, [(items[0], 1)])  # a clearly able examinee
        assert s.stop_reason == "classified" and s.classification == "above" and len(s.items) < 40


def test_finish_drops_pending_items(bank: ItemBank) -> None:
    engine = CatEngine(bank, cfg())
    s = engine.new_session("s", 1)
    items = engine.next_items(s, 3, InMemoryExposure(), "b")
    engine.apply_responses(s, [(items[0], 1)])
    engine.finish(s, "finish_called")
    assert s.items == items[:1] and s.finished and sum(s.area_counts.values()) == 1


def test_mixed_model_bank_runs() -> None:
    specs = [ItemSpec(f"d{k}", a=1.2, b=k / 10 - 1) for k in range(20)]
    specs += [ItemSpec(f"g{k}", GRM, a=1.5, thresholds=(k / 10 - 1.5, k / 10 - 0.5, k / 10 + 0.5)) for k in range(20)]
    specs += [ItemSpec(f"p{k}", GPCM, a=0.9, thresholds=(k / 10 - 1, k / 10)) for k in range(20)]
    bank = ItemBank.build("m", 1, specs, D=1.702)
    for method in ("eap", "map", "mle", "wle"):
        engine = CatEngine(bank, cfg(estimator=EstimatorConfig(method=method), stopping=StoppingConfig(15, 15)))
        s = engine.new_session("s", 2)
        exp = InMemoryExposure()
        while items := engine.next_items(s, 1, exp, "m"):
            ncat = int(bank.params.ncat[bank.index[items[0]]])
            engine.apply_responses(s, [(items[0], len(s.items) % ncat)])
        assert len(s.items) == 15 and np.isfinite(s.theta) and 0 < s.se < 2


@pytest.mark.parametrize("spec,code", [
    (ItemSpec("x", a=0.0), "cat.invalid_bank.discrimination"),
    (ItemSpec("x", a=1.0, c=0.5, d=0.4), "cat.invalid_bank.asymptotes"),
    (ItemSpec("x y"), "cat.invalid_bank.item_id"),
    (ItemSpec("x", GRM, thresholds=(1.0, 0.0)), "cat.invalid_bank.thresholds"),
    (ItemSpec("x", GPCM), "cat.invalid_bank.thresholds"),
    (ItemSpec("x", b=float("nan")), "cat.invalid_bank.difficulty"),
])
def test_bank_validation(spec: ItemSpec, code: str) -> None:
    with pytest.raises(BankError) as err:
        ItemBank.build("b", 1, [spec])
    assert err.value.code == code
    with pytest.raises(BankError) as err:
        ItemBank.build("b", 1, [ItemSpec("x"), ItemSpec("x")])
    assert err.value.code == "cat.invalid_bank.duplicate_item"


def test_config_validation() -> None:
    for bad in ({"estimator": {"method": "ml"}}, {"stopping": {"max_items": 0}},
                {"stopping": {"classification": "ci"}}, {"exposure": {"r_max": 1.5}}, {"nope": 1},
                {"content": {"blueprint": {"a": -1}}}, {"estimator": {"grid_points": 2}}):
        with pytest.raises(ConfigError):
            CatConfig.from_dict(bad)
    c = CatConfig.from_dict({"content": {"blueprint": {"b": 3, "a": 1}}})
    assert c.content.blueprint == {"a": 0.25, "b": 0.75}


def test_bank_cache_versions_and_eviction(bank: ItemBank) -> None:
    cache = BankCache(max_items=1000)
    cache.put(BankCache.key(1, "o", "b", 1), bank)
    cache.put(BankCache.key(1, "o", "b", 2), bank)  # 1200 items > 1000: the oldest goes
    assert cache.get(BankCache.key(1, "o", "b", 1)) is None and cache.get(BankCache.key(1, "o", "b", 2)) is bank
    cache.put(BankCache.key(1, "o", "c", 1), random_3pl_bank(10, 1))
    assert cache.invalidate(1, "o", "b", below_version=3) == 1 and len(cache) == 1


def test_settings_proto_round_trip_and_bank_events() -> None:
    import json

    from mcproto.cat.v1 import cat_pb2 as pb
    from services.cat.bank_events import apply_event
    from services.cat.grpc_api import config_from_proto, config_to_proto

    msg = pb.CatSettings(
        estimator=pb.EstimatorSettings(method=pb.ESTIMATOR_WLE, prior=pb.PRIOR_UNIFORM, prior_min=-3, grid_points=41),
        selection=pb.SelectionSettings(method=pb.SELECTION_KL, kl_delta_z=2.5),
        exposure=pb.ExposureSettings(method=pb.EXPOSURE_SYMPSON_HETTER, r_max=0.25),
        content=pb.ContentSettings(blueprint={"x": 2, "y": 2}),
        stopping=pb.StoppingSettings(min_items=5, max_items=30, se_threshold=0.3, classification=pb.CLASSIFICATION_SPRT,
                                     cut_score=0.5), initial_theta=0.2)
    cfg = config_from_proto(msg)
    assert (cfg.estimator.method, cfg.estimator.prior, cfg.estimator.prior_min, cfg.estimator.grid_points) == (
        "wle", "uniform", -3, 41)
    assert cfg.selection.method == "kl" and cfg.exposure.method == "sympson_hetter" and cfg.exposure.r_max == 0.25
    assert cfg.content.blueprint == {"x": 0.5, "y": 0.5} and cfg.stopping.classification == "sprt"
    assert config_from_proto(config_to_proto(cfg)) == cfg
    default = config_from_proto(pb.CatSettings())
    assert default == CatConfig() and default.start_theta == 0.0
    assert config_from_proto(config_to_proto(default)) == default

    cache = BankCache()
    b = random_3pl_bank(5, 1)
    for v in (1, 2, 3):
        cache.put(BankCache.key(1, "org", "bank", v), b)
    body = {"type": "exam.item_bank.changed", "zone_id": 1, "org_id": "org",
            "data": {"item_bank_id": "bank", "item_bank_version": 3}}
    assert apply_event(cache, json.dumps(body).encode()) == 2 and len(cache) == 1
    with pytest.raises(ValueError):
        apply_event(cache, json.dumps({"data": {}}).encode())
