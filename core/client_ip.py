"""The client's address, for throttles, login lockouts and the webhook log: one rule, so they never disagree."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, or behind `TRUSTED_PROXY_COUNT` proxies the address the outermost one saw.

    Each proxy appends the address it was called from to X-Forwarded-For, so only the last
    N entries were written by our proxies; anything left of them came from the client and
    is ignored. With no proxy configured (the default) the header is not read at all: a
    client could otherwise claim a new address on every request and escape every limit.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded:
        return remote
    addresses = [address.strip() for address in forwarded.split(",")]
    candidate = addresses[-min(count, len(addresses))]
    return candidate if _valid(candidate) else remote
