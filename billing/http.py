"""The one way billing talks to payment gateways over HTTP: timeouts, no redirects, typed errors.

Gateways sign the exact bytes of a request body, so callers hand over the body as bytes and
this module sends them untouched. Every failure ends as a `GatewayError` subclass:
`GatewayUnreachable` (no connection, a timeout: worth retrying), `GatewayRefused` (a 4xx: the
gateway said no) or `GatewayBadResponse` (a redirect, a 5xx, a body too large or not JSON).
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from django.conf import settings

from billing.errors import GatewayBadResponse, GatewayRefused, GatewayUnreachable

logger = logging.getLogger("billing.http")

# A gateway's answer is a small JSON object or CSV page; anything far larger is not an answer.
MAX_BODY_BYTES = 2 * 1024 * 1024
EXCERPT = 300


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            raise GatewayBadResponse(detail=f"not JSON: {self.text[:EXCERPT]!r}") from None


def gateway_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    refuse_4xx: bool = True,
) -> GatewayResponse:
    """Send one request and return the answer; raise a GatewayError for anything unusable.

    With `refuse_4xx=False` a 4xx answer is returned to the caller, for gateways whose 4xx
    bodies carry the reason (Cryptomus answers a wrong signature with 401 and a JSON message).
    """
    timeout = (settings.PAYMENT_CONNECT_TIMEOUT, settings.PAYMENT_READ_TIMEOUT)
    try:
        with requests.request(
            method,
            url,
            data=body,
            headers=dict(headers or {}),
            params=params,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        ) as response:
            content = _read_capped(response)
            status = response.status_code
    except requests.Timeout as error:
        raise GatewayUnreachable(detail=f"{method} {_where(url)}: timed out ({error.__class__.__name__})") from None
    except requests.RequestException as error:
        raise GatewayUnreachable(detail=f"{method} {_where(url)}: {error.__class__.__name__}") from None
    answer = GatewayResponse(status=status, body=content)
    if 300 <= status < 400:
        raise GatewayBadResponse(detail=f"{method} {_where(url)}: redirected ({status})")
    if status >= 500:
        raise GatewayBadResponse(detail=f"{method} {_where(url)}: HTTP {status} {answer.text[:EXCERPT]!r}")
    if 400 <= status < 500 and refuse_4xx:
        raise GatewayRefused(detail=f"{method} {_where(url)}: HTTP {status} {answer.text[:EXCERPT]!r}")
    return answer


def _read_capped(response: requests.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise GatewayBadResponse(detail=f"answer larger than {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _where(url: str) -> str:
    """The URL without its query string: Perfect Money's history API takes the passphrase there."""
    return url.split("?", 1)[0]
