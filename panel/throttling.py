"""Rate limits: one counter per client and fixed time window in the cache (Redis INCR in production).

`/api/v2` counts per API key and per client address (DRF throttles); the website's forms that
mail or create things (password reset, signup) count with `rate_limit_hit`. Both share the one
window counter: an atomic increment per hit, so every hit counts even across many web workers
(DRF's own timestamp-list throttle rewrites a growing list on each request and loses concurrent hits).
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import ngettext
from rest_framework.throttling import BaseThrottle

from core.client_ip import client_ip
from panel.api_keys import api_key_hash

THROTTLE_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def throttle_rate_parse(rate: str) -> tuple[int, int]:
    """ "3000/min" → (3000 requests, 60 seconds)."""
    count, _, period = rate.partition("/")
    return int(count), THROTTLE_PERIODS[period.strip()[:1].lower()]


def window_hit(*, key: str, rate: str) -> float | None:
    """Count one hit on `key` in the current window of `rate`: None within the rate, else the seconds left
    in the window."""
    limit, period = throttle_rate_parse(rate)
    now = time.time()
    window_key = f"{key}:{int(now // period)}"
    try:
        count = cache.incr(window_key)
    except ValueError:
        count = 1 if cache.add(window_key, 1, timeout=period + 1) else cache.incr(window_key)
    return None if count <= limit else period - (now % period)


def rate_limit_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Count one attempt of a website form; the whole seconds to wait when it is over the rate, else None.

    The identity is hashed, so an e-mail address never appears in a cache key.
    """
    digest = hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
    wait = window_hit(key=f"ratelimit:{scope}:{digest}", rate=rate)
    return None if wait is None else max(1, int(wait))


def wait_in_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}


class WindowThrottle(BaseThrottle):
    """An `/api/v2` throttle over `window_hit`, keyed by what `ident_for` reads from the request."""

    scope = ""
    rate_setting = ""
    retry_after: float = 0

    def ident_for(self, request) -> str | None:
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        ident = self.ident_for(request)
        if ident is None:
            return True
        wait = window_hit(key=f"throttle:{self.scope}:{ident}", rate=getattr(settings, self.rate_setting))
        self.retry_after = wait or 0
        return wait is None

    def wait(self) -> float:
        return self.retry_after


class ApiKeyThrottle(WindowThrottle):
    scope = "key"
    rate_setting = "API_THROTTLE_KEY_RATE"

    def ident_for(self, request) -> str | None:
        key = request.data.get("key") if hasattr(request.data, "get") else None
        if not isinstance(key, str) or not key:
            return None
        try:
            return api_key_hash(key)[:32]
        except UnicodeEncodeError:
            return None


class ApiIpThrottle(WindowThrottle):
    scope = "ip"
    rate_setting = "API_THROTTLE_IP_RATE"

    def ident_for(self, request) -> str | None:
        return client_ip(request)
