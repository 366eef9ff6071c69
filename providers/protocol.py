"""What the API v2 protocol fixes for both of its sides: the client of upstream panels and our own /api/v2."""

__all__ = ["PROTOCOL_BATCH"]

# Every provider's documentation says "up to 100 IDs" for the comma-separated forms of status,
# refill, refill_status and cancel; upstreams refuse or silently cut longer lists. Our /api/v2
# takes the same number, and the workers poll in chunks of it (one call per chunk).
PROTOCOL_BATCH = 100
