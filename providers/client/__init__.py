"""The one client that talks to upstream providers in the SMM "API v2" protocol.

Every request is a form-encoded POST of `key`, `action` and parameters, answered with JSON. The
package says its four parts by its files:

- `transport`: the POST itself: one deadline per request, the body cap, the address check,
  retries of safe actions only, the API key scrubbed from everything reported;
- `parsing`: pure functions from an answer to typed results, every dialect's quirks absorbed;
- `results`: those typed results, their text already clean;
- `client`: `ProviderClient`, one method per action.

Only safe (read-only) actions are retried. `add`, `refill`, `cancel` and `add_product_order` are
sent once: a lost answer must become "needs review", never a second order. Whatever an upstream
sends, a method returns typed results or raises a `providers.errors.ProviderError`.
"""

from providers.client.client import DIALECTS, ProviderClient
from providers.client.parsing import chunked
from providers.client.results import (
    MISSING_FROM_ANSWER,
    AddResult,
    BalanceResult,
    CancelResult,
    OrderStatusResult,
    ProductOrderStatusResult,
    RefillResult,
    RefillStatusResult,
    UpstreamProduct,
    UpstreamService,
)
from providers.protocol import PROTOCOL_BATCH

__all__ = [
    "DIALECTS",
    "MISSING_FROM_ANSWER",
    "PROTOCOL_BATCH",
    "AddResult",
    "BalanceResult",
    "CancelResult",
    "OrderStatusResult",
    "ProductOrderStatusResult",
    "ProviderClient",
    "RefillResult",
    "RefillStatusResult",
    "UpstreamProduct",
    "UpstreamService",
    "chunked",
]
