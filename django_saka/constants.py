"""Fixed facts of the currency that are not settings."""

from __future__ import annotations

MAX_GRAINS = 2**63 - 1  # the largest value a BigIntegerField holds on every backend

# Ledger reasons written by the app itself; a host project cannot use them as
# harvest or spend reasons, which keeps system moves apart from minting and burning.
COMPOST_REASON = "compost"
REDISTRIBUTION_REASON = "redistribution"
ACCOUNT_CLOSED_REASON = "account_closed"
SYSTEM_REASONS = frozenset({COMPOST_REASON, REDISTRIBUTION_REASON, ACCOUNT_CLOSED_REASON})
