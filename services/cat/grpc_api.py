"""CatService gRPC: item banks, adaptive sessions (state in Redis) and exposure reports.

Handlers validate everything before writing anything; engine and bank errors become `AppError`
with stable codes (see protos/mcproto/cat/v1/cat.proto for the list).
"""
from __future__ import annotations

import asyncio
import json
import math
import re
import uuid
from functools import lru_cache
from typing import Any

import grpc

from mcproto.cat.v1 import cat_pb2, cat_pb2_grpc
from megacity.errors import AppError
from megacity.irt import GPCM, GRM, LOGISTIC
from megacity.runtime import Resources
from megacity.zones import registry
from services.cat.engine import stopping
from services.cat.engine.bank import ID_RE, BankCache, BankError, ItemBank, ItemSpec
from services.cat.engine.config import CatConfig, ConfigError
from services.cat.engine.session import CatEngine, CatError, SessionData
from services.cat.settings import CatSettings
from services.cat.state import ExposureStore, SessionStore, TenantRef

SERVICE_NAME = cat_pb2.DESCRIPTOR.services_by_name["CatService"].full_name
MAX_COUNT = 50

_MODELS = {cat_pb2.ITEM_MODEL_UNSPECIFIED: LOGISTIC, cat_pb2.ITEM_MODEL_LOGISTIC: LOGISTIC,
           cat_pb2.ITEM_MODEL_GRM: GRM, cat_pb2.ITEM_MODEL_GPCM: GPCM}
_ESTIMATORS = {cat_pb2.ESTIMATOR_EAP: "eap", cat_pb2.ESTIMATOR_MAP: "map", cat_pb2.ESTIMATOR_MLE: "mle",
               cat_pb2.ESTIMATOR_WLE: "wle"}
_PRIORS = {cat_pb2.PRIOR_NORMAL: "normal", cat_pb2.PRIOR_UNIFORM: "uniform"}
_CONSTANT = {cat_pb2.CONSTANT_PATTERN_EAP: "eap", cat_pb2.CONSTANT_PATTERN_BOUND: "bound"}
_SELECTIONS = {cat_pb2.SELECTION_MAX_INFO: "max_info", cat_pb2.SELECTION_RANDOMESQUE: "randomesque",
               cat_pb2.SELECTION_KL: "kl", cat_pb2.SELECTION_PROGRESSIVE: "progressive"}
_EXPOSURES = {cat_pb2.EXPOSURE_NONE: "none", cat_pb2.EXPOSURE_SYMPSON_HETTER: "sympson_hetter",
              cat_pb2.EXPOSURE_R_MAX: "r_max"}
_CLASSES = {cat_pb2.CLASSIFICATION_NONE: "none", cat_pb2.CLASSIFICATION_CI: "ci", cat_pb2.CLASSIFICATION_SPRT: "sprt"}
_SAFE_AREA = re.compile(r"^[^\x00-\x1f]{0,64}$")


def _rev(d: dict) -> dict:
    return {v: k for k, v in d.items()}


def _enum(value: int, table: dict, what: str) -> str | None:
    if value == 0:
        return None
    if value not in table:
        raise AppError(400, "cat.invalid_settings", f"unknown {what} {value}")
    return table[value]


def config_from_proto(p: cat_pb2.CatSettings) -> CatConfig:
    """Settings message -> validated CatConfig (unset fields take the engine's defaults)."""
    def put(out: dict, msg: Any, names: tuple[str, ...]) -> None:
        for name in names:
            if msg.HasField(name):
                out[name] = getattr(msg, name)

    e, s, x, c, st = p.estimator, p.selection, p.exposure, p.content, p.stopping
    est: dict[str, Any] = {}
    for key, val in (("method", _enum(e.method, _ESTIMATORS, "estimator")), ("prior", _enum(e.prior, _PRIORS, "prior")),
                     ("constant_pattern", _enum(e.constant_pattern, _CONSTANT, "constant_pattern rule"))):
        if val:
            est[key] = val
    put(est, e, ("prior_mean", "prior_sd", "prior_min", "prior_max", "grid_min", "grid_max", "theta_min", "theta_max"))
    if e.grid_points:
        est["grid_points"] = e.grid_points
    sel: dict[str, Any] = {}
    if (m := _enum(s.method, _SELECTIONS, "selection method")):
        sel["method"] = m
    if s.randomesque_k:
        sel["randomesque_k"] = s.randomesque_k
    put(sel, s, ("kl_delta_z",))
    exp: dict[str, Any] = {}
    if (m := _enum(x.method, _EXPOSURES, "exposure method")):
        exp["method"] = m
    put(exp, x, ("r_max",))
    if x.candidates:
        exp["candidates"] = x.candidates
    stop: dict[str, Any] = {}
    if st.min_items:
        stop["min_items"] = st.min_items
    if st.max_items:
        stop["max_items"] = st.max_items
    if (m := _enum(st.classification, _CLASSES, "classification")):
        stop["classification"] = m
    put(stop, st, ("se_threshold", "cut_score", "ci_z", "sprt_delta", "sprt_alpha", "sprt_beta"))
    data: dict[str, Any] = {"estimator": est, "selection": sel, "exposure": exp,
                            "content": {"blueprint": dict(c.blueprint)}, "stopping": stop}
    if p.HasField("initial_theta"):
        data["initial_theta"] = p.initial_theta
    try:
        return CatConfig.from_dict(data)
    except ConfigError as err:
        raise AppError(400, err.code, err.detail) from None


def config_to_proto(cfg: CatConfig) -> cat_pb2.CatSettings:
    e, s, x, c, st = cfg.estimator, cfg.selection, cfg.exposure, cfg.content, cfg.stopping
    stop = cat_pb2.StoppingSettings(min_items=st.min_items, max_items=st.max_items,
                                    classification=_rev(_CLASSES)[st.classification], ci_z=st.ci_z,
                                    sprt_delta=st.sprt_delta, sprt_alpha=st.sprt_alpha, sprt_beta=st.sprt_beta)
    if st.se_threshold is not None:
        stop.se_threshold = st.se_threshold
    if st.cut_score is not None:
        stop.cut_score = st.cut_score
    out = cat_pb2.CatSettings(
        estimator=cat_pb2.EstimatorSettings(
            method=_rev(_ESTIMATORS)[e.method], prior=_rev(_PRIORS)[e.prior], prior_mean=e.prior_mean,
            prior_sd=e.prior_sd, prior_min=e.prior_min, prior_max=e.prior_max, grid_min=e.grid_min,
            grid_max=e.grid_max, grid_points=e.grid_points, theta_min=e.theta_min, theta_max=e.theta_max,
            constant_pattern=_rev(_CONSTANT)[e.constant_pattern]),
        selection=cat_pb2.SelectionSettings(method=_rev(_SELECTIONS)[s.method], randomesque_k=s.randomesque_k,
                                            kl_delta_z=s.kl_delta_z),
        exposure=cat_pb2.ExposureSettings(method=_rev(_EXPOSURES)[x.method], r_max=x.r_max, candidates=x.candidates),
        content=cat_pb2.ContentSettings(blueprint=c.blueprint),
        stopping=stop)
    if cfg.initial_theta is not None:  # unset means "the prior mean", and stays unset in the echo
        out.initial_theta = cfg.initial_theta
    return out


@lru_cache(maxsize=512)
def _config(canonical: str) -> tuple[CatConfig, cat_pb2.CatSettings, str]:
    cfg = CatConfig.from_dict(json.loads(canonical))
    return cfg, config_to_proto(cfg), canonical


def session_config(s: SessionData) -> tuple[CatConfig, cat_pb2.CatSettings, str]:
    """The session's validated config, its proto form and canonical JSON, parsed once per
    distinct config (the proto is shared: copy it, never mutate it)."""
    return _config(json.dumps(s.config, sort_keys=True, separators=(",", ":")))


def state_to_proto(s: SessionData) -> cat_pb2.SessionState:
    cfg, settings, _ = session_config(s)
    return cat_pb2.SessionState(
        session_id=s.session_id, theta=s.theta, se=s.se, administered_item_ids=s.items,
        responses=[cat_pb2.Response(item_id=i, score=v) for i, v in s.answered], finished=s.finished,
        stop_reason=s.stop_reason, item_bank_id=s.bank_id, item_bank_version=s.bank_version,
        pending_item_ids=s.pending, content_counts=s.area_counts, classification=s.classification,
        estimator=cfg.estimator.method, seed=s.seed, settings=settings)


def _tenant(t: cat_pb2.Tenant) -> TenantRef:
    try:
        registry().zone_by_id(t.zone_id)
    except KeyError:
        raise AppError(400, "cat.invalid_tenant", f"zone {t.zone_id} does not exist") from None
    try:
        org = str(uuid.UUID(t.org_id))
    except ValueError:
        raise AppError(400, "cat.invalid_tenant", "tenant.org_id must be a UUID") from None
    return TenantRef(t.zone_id, org)


def _id(value: str, what: str) -> str:
    if not ID_RE.match(value or ""):
        raise AppError(400, "cat.invalid_id", f"{what} must match {ID_RE.pattern}")
    return value


def _app(err: CatError | BankError | ConfigError) -> AppError:
    status = getattr(err, "status", 400)
    return AppError(status, err.code, err.detail)


def _bank_specs(items: Any) -> list[ItemSpec]:
    specs = []
    for k, it in enumerate(items):
        if it.model not in _MODELS:
            raise AppError(400, "cat.invalid_bank.model", f"item {k}: unknown model {it.model}")
        if not _SAFE_AREA.match(it.content_area):
            raise AppError(400, "cat.invalid_bank.content_area", f"item {k}: bad content_area")
        specs.append(ItemSpec(it.item_id, _MODELS[it.model], it.a, it.b, it.c if it.HasField("c") else 0.0,
                              it.d if it.HasField("d") else 1.0, tuple(it.thresholds), it.content_area,
                              it.sh_k if it.HasField("sh_k") else None))
    return specs


def bank_info(bank: ItemBank, already: bool) -> cat_pb2.BankInfo:
    return cat_pb2.BankInfo(item_bank_id=bank.bank_id, item_bank_version=bank.version, item_count=bank.n,
                            items_per_area={name: int(m.size) for name, m in zip(bank.area_names, bank.area_members)},
                            already_loaded=already)


class CatServicer(cat_pb2_grpc.CatServiceServicer):
    def __init__(self, res: Resources, cache: BankCache, settings: CatSettings) -> None:
        self.res = res
        self.cache = cache
        self.sessions = SessionStore(res.redis, res.keys, settings.session_ttl_seconds, settings.finished_ttl_seconds)
        self.exposure = ExposureStore(res.redis, res.keys)
        self._engines: dict[tuple, CatEngine] = {}  # per (bank, config): estimator grids built once

    # -- banks -----------------------------------------------------------------------------------
    def _bank(self, t: TenantRef, bank_id: str, version: int, status: int = 412) -> ItemBank:
        bank = self.cache.get(BankCache.key(t.zone_id, t.org_id, bank_id, version))
        if bank is None:
            raise AppError(status, "cat.bank_not_loaded",
                           f"item bank {bank_id!r} version {version} is not loaded; call LoadBank and retry")
        return bank

    async def LoadBank(self, request: cat_pb2.LoadBankRequest, context: grpc.aio.ServicerContext) -> cat_pb2.BankInfo:
        t = _tenant(request.tenant)
        bank_id = _id(request.item_bank_id, "item_bank_id")
        if request.item_bank_version < 0:
            raise AppError(400, "cat.invalid_bank.version", "item_bank_version must be >= 0")
        key = BankCache.key(t.zone_id, t.org_id, bank_id, request.item_bank_version)
        cached = self.cache.get(key)
        if cached is not None:
            return bank_info(cached, True)
        D = request.scaling_constant or 1.0
        if not math.isfinite(D):
            raise AppError(400, "cat.invalid_bank.scaling_constant", "scaling_constant must be finite")
        specs = _bank_specs(request.items)
        enemies = [list(s.item_ids) for s in request.enemy_sets]
        try:
            bank = await asyncio.to_thread(ItemBank.build, bank_id, request.item_bank_version, specs, enemies, D)
        except BankError as err:
            raise _app(err) from None
        self.cache.put(key, bank)
        return bank_info(bank, False)

    async def GetBank(self, request: cat_pb2.GetBankRequest, context: grpc.aio.ServicerContext) -> cat_pb2.BankInfo:
        t = _tenant(request.tenant)
        bank = self._bank(t, _id(request.item_bank_id, "item_bank_id"), request.item_bank_version, status=404)
        return bank_info(bank, True)

    # -- sessions --------------------------------------------------------------------------------
    async def _load(self, t: TenantRef, session_id: str) -> tuple[SessionData, int]:
        found = await self.sessions.load(t, _id(session_id, "session_id"))
        if found is None:
            raise AppError(404, "cat.session_not_found", f"no CAT session {session_id!r} in this tenant")
        return found

    def _engine(self, t: TenantRef, s: SessionData) -> CatEngine:
        bank = self._bank(t, s.bank_id, s.bank_version)
        cfg, _, canonical = session_config(s)
        key = (id(bank), canonical)
        engine = self._engines.get(key)
        if engine is None or engine.bank is not bank:
            if len(self._engines) > 256:
                self._engines.clear()
            engine = self._engines[key] = CatEngine(bank, cfg)
        return engine

    async def StartSession(self, request: cat_pb2.StartSessionRequest,
                           context: grpc.aio.ServicerContext) -> cat_pb2.SessionState:
        t = _tenant(request.tenant)
        session_id = _id(request.session_id, "session_id")
        bank_id = _id(request.item_bank_id, "item_bank_id")
        cfg = config_from_proto(request.settings)
        existing = await self.sessions.load(t, session_id)
        if existing is not None:
            return state_to_proto(self._same_session(existing[0], bank_id, request, cfg))
        bank = self._bank(t, bank_id, request.item_bank_version)
        if cfg.content.blueprint and not set(cfg.content.blueprint) & set(bank.area_names):
            raise AppError(400, "cat.invalid_settings", "no blueprint area has items in this bank")
        engine = CatEngine(bank, cfg)
        s = engine.new_session(session_id, request.seed)
        try:
            if request.prior_responses:
                engine.apply_responses(s, [(r.item_id, r.score) for r in request.prior_responses], rebuild=True)
                decision = engine.stop_check(s)
                if decision.stop:
                    engine.finish(s, decision.reason, decision.classification)
        except CatError as err:
            raise _app(err) from None
        await self.exposure.register(t, bank_id, session_id)
        try:
            await self.sessions.save(t, s, 0)
        except CatError:
            again = await self.sessions.load(t, session_id)
            if again is None:
                raise
            return state_to_proto(self._same_session(again[0], bank_id, request, cfg))
        return state_to_proto(s)

    @staticmethod
    def _same_session(s: SessionData, bank_id: str, request: cat_pb2.StartSessionRequest, cfg: CatConfig) -> SessionData:
        if (s.bank_id, s.bank_version, s.seed, s.config) != (bank_id, request.item_bank_version, request.seed,
                                                            cfg.to_dict()):
            raise AppError(409, "cat.session_exists",
                           "a session with this id exists with a different bank, version, seed or settings")
        return s

    async def NextItem(self, request: cat_pb2.NextItemRequest, context: grpc.aio.ServicerContext) -> cat_pb2.NextItemResponse:
        t = _tenant(request.tenant)
        count = request.count or 1
        if not 1 <= count <= MAX_COUNT:
            raise AppError(400, "cat.invalid_count", f"count must be 1..{MAX_COUNT}")
        s, version = await self._load(t, request.session_id)
        if s.finished or s.pending:
            await self.sessions.touch(t, s)
            return self._next_reply(s)
        engine = self._engine(t, s)
        decision = engine.stop_check(s)
        if decision.stop:
            engine.finish(s, decision.reason, decision.classification)
        else:
            cfg = engine.config
            room = cfg.stopping.max_items - len(s.items)
            for _ in range(min(count, room)):
                plan = engine.plan(s)
                if plan is None:
                    break
                engine.record(s, await self.exposure.choose(t, s.bank_id, plan.candidates, cfg.exposure.method,
                                                            cfg.exposure.r_max, plan.uniforms, plan.sh_k))
            if not s.pending:
                engine.finish(s, stopping.BANK_EXHAUSTED)
        await self._save(t, s, version)
        return self._next_reply(s)

    @staticmethod
    def _next_reply(s: SessionData) -> cat_pb2.NextItemResponse:
        pending = s.pending
        return cat_pb2.NextItemResponse(item_id=pending[0] if pending else "", finished=s.finished,
                                        state=state_to_proto(s), item_ids=pending)

    async def _save(self, t: TenantRef, s: SessionData, version: int) -> None:
        try:
            await self.sessions.save(t, s, version)
        except CatError as err:
            raise _app(err) from None

    async def SubmitResponses(self, request: cat_pb2.SubmitResponsesRequest,
                              context: grpc.aio.ServicerContext) -> cat_pb2.SessionState:
        t = _tenant(request.tenant)
        s, version = await self._load(t, request.session_id)
        responses = [(r.item_id, r.score) for r in request.responses]
        for item_id, _ in responses:
            _id(item_id, "response item_id")
        if not responses:
            return state_to_proto(s)
        recorded = dict(s.answered)
        if all(recorded.get(i) == v for i, v in responses):
            return state_to_proto(s)  # a retried call: every response is already recorded
        if s.finished:
            raise AppError(412, "cat.session_finished", "the session is finished")
        engine = self._engine(t, s)
        try:
            engine.apply_responses(s, responses)
        except CatError as err:
            raise _app(err) from None
        decision = engine.stop_check(s)
        if decision.stop:
            engine.finish(s, decision.reason, decision.classification)
        await self._save(t, s, version)
        return state_to_proto(s)

    async def Finish(self, request: cat_pb2.FinishRequest, context: grpc.aio.ServicerContext) -> cat_pb2.SessionState:
        t = _tenant(request.tenant)
        s, version = await self._load(t, request.session_id)
        if s.finished:
            return state_to_proto(s)
        if s.pending:
            self._engine(t, s).finish(s, stopping.FINISH_CALLED)
        else:
            cfg = session_config(s)[0]
            s.finished, s.stop_reason = True, stopping.FINISH_CALLED
            s.classification = stopping.classify(s.theta, cfg.stopping.cut_score)
        await self._save(t, s, version)
        return state_to_proto(s)

    async def GetState(self, request: cat_pb2.GetStateRequest, context: grpc.aio.ServicerContext) -> cat_pb2.SessionState:
        t = _tenant(request.tenant)
        s, _ = await self._load(t, request.session_id)
        return state_to_proto(s)

    async def GetExposure(self, request: cat_pb2.GetExposureRequest,
                          context: grpc.aio.ServicerContext) -> cat_pb2.ExposureReport:
        t = _tenant(request.tenant)
        bank_id = _id(request.item_bank_id, "item_bank_id")
        top = request.top or 20
        if not 1 <= top <= 10_000:
            raise AppError(400, "cat.invalid_count", "top must be 1..10000")
        n, rows = await self.exposure.report(t, bank_id, top)
        return cat_pb2.ExposureReport(item_bank_id=bank_id, sessions=n, items=[
            cat_pb2.ItemExposure(item_id=i, given=c, rate=c / max(n, 1)) for i, c in rows])


def registrar(cache: BankCache, settings: CatSettings):
    def make(res: Resources):
        return lambda server: cat_pb2_grpc.add_CatServiceServicer_to_server(CatServicer(res, cache, settings), server)

    return make
