"""The status words customers read, on the website and in `/api/v2` alike (the protocol's own spellings).

The panel's steps before an order reaches its provider (awaiting, placing, review) all read
"Pending": a customer sees the protocol's life of an order, not our plumbing.
"""

from orders.models import Order, Refill

PROTOCOL_STATUS = {
    Order.Status.AWAITING: "Pending",
    Order.Status.PLACING: "Pending",
    Order.Status.NEEDS_REVIEW: "Pending",
    Order.Status.PENDING: "Pending",
    Order.Status.IN_PROGRESS: "In progress",
    Order.Status.PROCESSING: "Processing",
    Order.Status.COMPLETED: "Completed",
    Order.Status.PARTIAL: "Partial",
    Order.Status.CANCELED: "Canceled",
}
REFILL_STATUS = {
    Refill.Status.REQUESTED: "Pending",
    Refill.Status.PENDING: "Pending",
    Refill.Status.IN_PROGRESS: "In progress",
    Refill.Status.COMPLETED: "Completed",
    Refill.Status.REJECTED: "Rejected",
    Refill.Status.CANCELED: "Canceled",
    Refill.Status.FAILED: "Rejected",
}
