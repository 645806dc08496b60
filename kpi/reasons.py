"""Reject reasons: the stable, machine-readable strings of dead letters and metric labels.

Defined here once; `kpi.contract` re-exports them (`contract.LATE`, `contract.REASONS`)
and `kpi.timestamps` raises with the two timestamp reasons.
"""

from __future__ import annotations

# Decoding (kpi.contract, kpi.timestamps).
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
OUT_OF_RANGE = "out_of_range"
EMPTY_FIELD = "empty_field"
UNKNOWN_TYPE = "unknown_type"
UNSUPPORTED_CURRENCY = "unsupported_currency"
NAIVE_TIMESTAMP = "naive_timestamp"
INVALID_TIMESTAMP = "invalid_timestamp"
# The engine (kpi.engine), not decoding.
UNKNOWN_TICKET = "unknown_ticket"
TICKET_EXISTS = "ticket_exists"
LATE = "late"
# The worker: a message above its size limit.
TOO_LARGE = "too_large"
# The live worker's guard against clocks far ahead (kpi.engine `not_after`); replays have none.
FUTURE = "future_timestamp"
# The worker's last line of defence: processing a record raised (a bug, not bad input). The
# record is kept with the error rather than redelivered forever.
INTERNAL_ERROR = "internal_error"

REASONS = (
    INVALID_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_TYPE, OUT_OF_RANGE, EMPTY_FIELD,
    UNKNOWN_TYPE, UNSUPPORTED_CURRENCY, NAIVE_TIMESTAMP, INVALID_TIMESTAMP,
    UNKNOWN_TICKET, TICKET_EXISTS, LATE, TOO_LARGE, FUTURE, INTERNAL_ERROR,
)
