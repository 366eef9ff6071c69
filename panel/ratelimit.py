"""A small counter per client and time window in the cache, for the website's forms that mail
or create things (password reset, signup). /api/v2 has its own throttles (panel.api)."""

import hashlib
import time

from django.core.cache import cache
from django.utils.translation import ngettext

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """ "5/hour" → (5 attempts, 3600 seconds)."""
    count, _, period = rate.partition("/")
    return int(count), _PERIODS[period.strip()[:1].lower()]


def rate_limit_hit(*, scope: str, ident: str, rate: str) -> int | None:
    """Count one attempt; the seconds to wait when it is over the rate, else None.

    One atomic increment per attempt (Redis INCR in production), so concurrent requests all
    count; the identity is hashed, so an e-mail address never appears in a cache key.
    """
    limit, period = rate_parse(rate)
    now = time.time()
    digest = hashlib.sha256(ident.encode("utf-8", "replace")).hexdigest()[:32]
    key = f"ratelimit:{scope}:{digest}:{int(now // period)}"
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1 if cache.add(key, 1, timeout=period + 1) else cache.incr(key)
    if count <= limit:
        return None
    return max(1, int(period - (now % period)))


def wait_in_words(seconds: int) -> str:
    minutes = -(-seconds // 60)
    return ngettext("%(count)s minute", "%(count)s minutes", minutes) % {"count": minutes}
