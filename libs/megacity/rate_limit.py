"""Request rate limits in Redis, shared by every service: a sliding window per account and per
org for authenticated requests (schools sit behind one NAT address, so the edge's per-address
limits cannot tell a class from an attacker), and per address for anonymous ones (auth's login
and registration ceilings).

The window is the sliding-window counter (two fixed buckets, the previous one weighted by how
much of it still overlaps the window): O(1) memory per key, never more than the limit admitted
in any window aligned to a bucket, and at most about the limit in any sliding one. One Lua
script checks every quota of a request and counts the request in all of them only when all
admit it, atomically, on Redis' clock (replicas of a service share one clock).

Answers follow draft-ietf-httpapi-ratelimit-headers-07 (the last draft with separate fields):
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta seconds) of the quota closest
to exhaustion, and `RateLimit-Policy` listing every quota (`300;w=60;comment="account"`). A
refusal is `429 rate_limit.exceeded` problem JSON naming the scope, with `Retry-After`.

Redis down: the limiter fails open (the request goes on, a warning is logged at most once per
`FAIL_OPEN_LOG_SECONDS` and `mc_rate_limit_fail_open_total` counts it). A limit protects the
platform from floods; refusing every request because its bookkeeping is unreachable would turn
a Redis outage into a full outage, and the edge's coarse per-address ceilings still stand.
"""
from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis.exceptions
from prometheus_client import Counter
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from megacity.auth.tokens import Principal
from megacity.auth.verifier import JwksCache, TokenVerifier, http_jwks_fetcher
from megacity.errors import AppError
from megacity.redis_keys import RedisKeys
from megacity.telemetry.logs import get_logger

log = get_logger("megacity.rate_limit")

REJECTED = Counter("mc_rate_limit_rejected_total", "Requests refused by the service rate limiter",
                   ["service", "scope"])
FAIL_OPEN = Counter("mc_rate_limit_fail_open_total", "Requests let through because Redis was unreachable",
                    ["service"])
FAIL_OPEN_LOG_SECONDS = 30.0
DRAFT = "draft-ietf-httpapi-ratelimit-headers-07"
EXCEEDED = "rate_limit.exceeded"

# KEYS: one hash per quota (field = bucket number, value = count). ARGV[1]: window in ms,
# ARGV[2..]: the quotas' limits. Returns {admitted (0/1), ms into the bucket, prev1, cur1, ...}
# with the counts after this request when it was admitted.
_SCRIPT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local bucket = math.floor(now / window)
local elapsed = now - bucket * window
local cur_f, prev_f, old_f = tostring(bucket), tostring(bucket - 1), tostring(bucket - 2)
local out = {1, elapsed}
for i, key in ipairs(KEYS) do
  local prev = tonumber(redis.call('HGET', key, prev_f) or '0')
  local cur = tonumber(redis.call('HGET', key, cur_f) or '0')
  if prev * (window - elapsed) / window + cur + 1 > tonumber(ARGV[i + 1]) then out[1] = 0 end
  out[2 * i + 1] = prev
  out[2 * i + 2] = cur
end
if out[1] == 1 then
  for i, key in ipairs(KEYS) do
    redis.call('HINCRBY', key, cur_f, 1)
    redis.call('HDEL', key, old_f)
    redis.call('PEXPIRE', key, 2 * window)
    out[2 * i + 2] = out[2 * i + 2] + 1
  end
end
return out
"""


@dataclass(frozen=True)
class Quota:
    """One limit a request counts against: `scope` names it to the client (account, org,
    address), `key` is its Redis key (from megacity.redis_keys)."""

    scope: str
    key: str
    limit: int


@dataclass(frozen=True)
class QuotaState:
    quota: Quota
    remaining: int
    reset: int  # seconds until one more request fits (refused) or the bucket ends (admitted)


@dataclass(frozen=True)
class Decision:
    """The outcome for one request: admitted or not, and the state of each quota."""

    allowed: bool
    window: int
    states: tuple[QuotaState, ...]

    @property
    def closest(self) -> QuotaState:
        """The quota closest to exhaustion (the one that refused, when refused)."""
        return min(self.states, key=lambda s: (s.remaining, -s.reset))

    def headers(self) -> dict[str, str]:
        """RateLimit-* fields (draft-07), plus Retry-After on a refusal."""
        if not self.states:
            return {}
        c = self.closest
        out = {"RateLimit-Limit": str(c.quota.limit), "RateLimit-Remaining": str(c.remaining),
               "RateLimit-Reset": str(c.reset),
               "RateLimit-Policy": ", ".join(f'{s.quota.limit};w={self.window};comment="{s.quota.scope}"'
                                             for s in self.states)}
        if not self.allowed:
            out["Retry-After"] = str(c.reset)
        return out

    def error(self) -> AppError:
        """`429 rate_limit.exceeded` naming the scope that refused, with Retry-After."""
        c = self.closest
        return AppError(429, EXCEEDED,
                        f"too many requests for this {c.quota.scope} ({c.quota.limit} per {self.window} s); "
                        f"retry in {c.reset} s", {"retry_after": c.reset})


def _retry_after_ms(limit: int, prev: int, cur: int, elapsed: int, window: int) -> float:
    """How long until `prev * overlap + cur + 1 <= limit` holds again."""
    if cur + 1 <= limit:
        if prev <= 0:
            return 0.0
        # Still in this bucket: wait for the previous bucket's weight to shrink enough.
        return max(0.0, (window - elapsed) - (limit - 1 - cur) * window / prev)
    # Not before the next bucket, where this bucket's count becomes the weighted one.
    return (window - elapsed) + window * max(0.0, 1 - (limit - 1) / cur)


class SlidingWindowLimiter:
    """Counts requests against quotas in Redis; `service` labels the metrics."""

    def __init__(self, redis: Any, *, service: str, window_seconds: int = 60) -> None:
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.redis, self.service, self.window = redis, service, window_seconds
        self._script = redis.register_script(_SCRIPT)
        self._logged_at = -math.inf

    async def hit(self, quotas: Sequence[Quota]) -> Decision | None:
        """Count one request against every quota (all or none). None when Redis could not be
        asked: the caller lets the request through (fail open, see the module docstring)."""
        if not quotas:
            return Decision(True, self.window, ())
        window_ms = self.window * 1000
        try:
            raw = await self._script(keys=[q.key for q in quotas], args=[window_ms, *(q.limit for q in quotas)])
        except redis.exceptions.RedisError as exc:
            self._fail_open(exc)
            return None
        allowed, elapsed = int(raw[0]), int(raw[1])
        states = []
        for i, q in enumerate(quotas):
            prev, cur = int(raw[2 + 2 * i]), int(raw[3 + 2 * i])
            estimate = prev * (window_ms - elapsed) / window_ms + cur
            if allowed:
                reset_ms = float(window_ms - elapsed)
            else:
                reset_ms = _retry_after_ms(q.limit, prev, cur, elapsed, window_ms)
            states.append(QuotaState(q, max(0, math.floor(q.limit - estimate)), max(1, math.ceil(reset_ms / 1000))))
        decision = Decision(bool(allowed), self.window, tuple(states))
        if not decision.allowed:
            REJECTED.labels(self.service, decision.closest.quota.scope).inc()
        return decision

    def _fail_open(self, exc: Exception) -> None:
        FAIL_OPEN.labels(self.service).inc()
        now = time.monotonic()
        if now - self._logged_at >= FAIL_OPEN_LOG_SECONDS:
            self._logged_at = now
            log.warning("rate limiter cannot reach redis; letting requests through", error=str(exc)[:300])


def account_quotas(keys: RedisKeys, *, zone_id: int, user_id: uuid.UUID, org_id: uuid.UUID | None,
                   per_account: int, per_org: int) -> list[Quota]:
    """The quotas of an authenticated request: its account, and its org as a ceiling (callers
    without an org, e.g. zone admins, have only the first). Keys live in the caller's tenant
    namespace, so two orgs never share a count."""
    if org_id is None:
        return [Quota("account", keys.zone(zone_id, "rl", "acct", user_id), per_account)]
    return [Quota("account", keys.tenant(zone_id, org_id, "rl", "acct", user_id), per_account),
            Quota("org", keys.tenant(zone_id, org_id, "rl", "org"), per_org)]


PROBLEM = "application/problem+json"
_SKIPPED = {"/healthz", "/readyz", "/metrics"}


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer":
                return None
            return token.strip() or None
    return None


class AccountRateLimitMiddleware:
    """Every service's limit on authenticated requests (installed by `megacity.http_app`).

    A request carrying a bearer token whose signature and claims verify (the verifier memoises
    them, so the route's own authentication costs nothing more) counts against its account and
    org before any handler runs; beyond a quota it is `429 rate_limit.exceeded`. Anything else —
    no token, a bad one, auth's JWKS unreachable — goes on untouched and the route decides (401,
    or an anonymous route with its own per-address limits). Revocation is left to the route: a
    revoked token was still issued to that account, so counting it there is right."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service
        self._limiter: SlidingWindowLimiter | None = None

    def _limiter_for(self, redis_client: Any) -> SlidingWindowLimiter:
        if self._limiter is None or self._limiter.redis is not redis_client:
            self._limiter = SlidingWindowLimiter(redis_client, service=self.service)
        return self._limiter

    async def _principal(self, state: Any, token: str) -> Principal | None:
        verifier: TokenVerifier | None = getattr(state, "token_verifier", None)
        if verifier is None:  # the same lazily made verifier as megacity.auth.dependencies
            verifier = state.token_verifier = TokenVerifier(JwksCache(http_jwks_fetcher(
                state.resources.settings.jwks_url)))
        try:
            return await verifier.principal(token)
        except AppError:
            return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in _SKIPPED:
            await self.app(scope, receive, send)
            return
        token = _bearer(scope)
        state = scope["app"].state if "app" in scope else None
        res = getattr(state, "resources", None)
        if token is None or res is None or res.redis is None or not res.settings.rate_limit_enabled:
            await self.app(scope, receive, send)
            return
        principal = await self._principal(state, token)
        decision = None
        if principal is not None:
            s = res.settings
            decision = await self._limiter_for(res.redis).hit(account_quotas(
                res.keys, zone_id=principal.zone_id, user_id=principal.user_id, org_id=principal.org_id,
                per_account=s.rate_limit_account_per_minute, per_org=s.rate_limit_org_per_minute))
        if decision is None:
            await self.app(scope, receive, send)
            return
        headers = decision.headers()
        if not decision.allowed:
            body = decision.error().problem(scope["path"])
            body.pop("retry_after", None)
            await JSONResponse(body, status_code=429, media_type=PROBLEM, headers=headers)(scope, receive, send)
            return
        extra = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, _send)
