"""A circuit breaker per model provider, its state in Redis so every worker shares it.

States (key `switchboard:breaker:<provider>:state`):
- `closed`: calls go through; failures are counted in a sliding window
  (`...:failures`, a sorted set of timestamps). `SWITCHBOARD_BREAKER_FAILURES`
  failures within `SWITCHBOARD_BREAKER_WINDOW_SECONDS` open the breaker.
- `open`: calls are refused (the fallback chain moves on) until
  `SWITCHBOARD_BREAKER_COOLDOWN_SECONDS` have passed since it opened.
- `half_open`: after the cool-down exactly one caller wins the probe lock
  (`...:probe`, SET NX with a TTL so a crashed probe cannot wedge it) and may
  call; its success closes the breaker, its failure re-opens it.

Transitions run as Lua scripts, so two workers cannot both take the probe or
half-count a failure. If Redis is unreachable the breaker lets calls through
(and logs): losing the breaker must not take the product down.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

PREFIX = "switchboard:breaker"

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"

# KEYS: state, opened_at, probe. ARGV: now, cooldown, probe_ttl, token.
_ALLOW = """
local state = redis.call('GET', KEYS[1]) or 'closed'
if state == 'closed' then return 1 end
local opened_at = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) - opened_at < tonumber(ARGV[2]) then return 0 end
if redis.call('SET', KEYS[3], ARGV[4], 'NX', 'EX', ARGV[3]) then
  redis.call('SET', KEYS[1], 'half_open')
  return 2
end
return 0
"""

# KEYS: state, opened_at, probe, failures. ARGV: now, window, threshold, member.
_FAILURE = """
local state = redis.call('GET', KEYS[1]) or 'closed'
local now = tonumber(ARGV[1])
if state == 'half_open' then
  redis.call('SET', KEYS[1], 'open')
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[3])
  return 'open'
end
if state == 'open' then return 'open' end
redis.call('ZADD', KEYS[4], now, ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[2]))
redis.call('EXPIRE', KEYS[4], math.ceil(tonumber(ARGV[2])) + 1)
if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[3]) then
  redis.call('SET', KEYS[1], 'open')
  redis.call('SET', KEYS[2], ARGV[1])
  redis.call('DEL', KEYS[4])
  return 'open'
end
return 'closed'
"""

# KEYS: state, opened_at, probe, failures.
_SUCCESS = """
local state = redis.call('GET', KEYS[1]) or 'closed'
if state == 'closed' then return 'closed' end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
return 'closed'
"""


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def redis_client() -> redis.Redis:
    return _client(settings.REDIS_URL)


@dataclass
class CircuitBreaker:
    provider: str
    failure_threshold: int
    window_seconds: float
    cooldown_seconds: float
    probe_ttl_seconds: float
    clock: Callable[[], float] = time.time

    @classmethod
    def for_provider(cls, provider: str, *, clock: Callable[[], float] = time.time) -> CircuitBreaker:
        return cls(
            provider=provider,
            failure_threshold=settings.SWITCHBOARD_BREAKER_FAILURES,
            window_seconds=settings.SWITCHBOARD_BREAKER_WINDOW_SECONDS,
            cooldown_seconds=settings.SWITCHBOARD_BREAKER_COOLDOWN_SECONDS,
            # A probe that never reports (worker killed) frees the lock after this.
            probe_ttl_seconds=max(1.0, settings.SWITCHBOARD_MODEL_TIMEOUT * 2),
            clock=clock,
        )

    def _key(self, name: str) -> str:
        return f"{PREFIX}:{self.provider}:{name}"

    @property
    def _keys(self) -> list[str]:
        return [self._key("state"), self._key("opened_at"), self._key("probe"), self._key("failures")]

    def state(self) -> str:
        try:
            value = redis_client().get(self._key("state"))
        except redis.RedisError:
            logger.warning("circuit breaker state unavailable (Redis); treating %s as closed", self.provider)
            return CLOSED
        return value.decode() if value else CLOSED

    def allow(self) -> bool:
        """May a call go to this provider now? (Takes the half-open probe when it is due.)"""
        try:
            keys = self._keys[:3]
            result = redis_client().eval(
                _ALLOW, 3, *keys, self.clock(), self.cooldown_seconds, int(self.probe_ttl_seconds), "probe"
            )
        except redis.RedisError:
            logger.warning("circuit breaker unavailable (Redis); letting the call to %s through", self.provider)
            return True
        if result == 2:
            logger.info("circuit breaker for %s is half-open: probing", self.provider)
        return bool(result)

    def record_failure(self) -> str:
        now = self.clock()
        try:
            state = redis_client().eval(
                _FAILURE,
                4,
                *self._keys,
                now,
                self.window_seconds,
                self.failure_threshold,
                f"{now:.6f}:{uuid.uuid4().hex}",
            )
        except redis.RedisError:
            return CLOSED
        state = state.decode() if isinstance(state, bytes) else state
        if state == OPEN:
            logger.warning("circuit breaker for %s is open", self.provider)
        return state

    def record_success(self) -> None:
        try:
            redis_client().eval(_SUCCESS, 4, *self._keys)
        except redis.RedisError:
            return

    def recent_failures(self) -> int:
        try:
            client = redis_client()
            client.zremrangebyscore(self._key("failures"), "-inf", self.clock() - self.window_seconds)
            return int(client.zcard(self._key("failures")))
        except redis.RedisError:
            return 0

    def reset(self) -> None:
        """Close the breaker by hand (an operator knows the provider is back)."""
        redis_client().delete(*self._keys)
