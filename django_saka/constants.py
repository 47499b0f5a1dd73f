"""Fixed facts of the currency that are not settings."""

from __future__ import annotations

import unicodedata

MAX_GRAINS = 2**63 - 1  # the largest value a BigIntegerField holds on every backend

# Ledger reasons written by the app itself; a host project cannot use them as
# harvest or spend reasons, which keeps system moves apart from minting and burning.
COMPOST_REASON = "compost"
REDISTRIBUTION_REASON = "redistribution"
ACCOUNT_CLOSED_REASON = "account_closed"
SYSTEM_REASONS = frozenset({COMPOST_REASON, REDISTRIBUTION_REASON, ACCOUNT_CLOSED_REASON})


def looks_like_system_reason(name: str) -> bool:
    """True when ``name`` could be read as a system reason: the same letters up to case,
    accents, surrounding spaces and the separator ("Compost", " COMPOST", "compóst",
    "account-closed"). Such names are refused as member reasons, so nobody reading the
    ledger (or a backend comparing case-insensitively) can take one for a system move."""
    letters = name
    if not name.isascii():  # the common case skips the decomposition
        decomposed = unicodedata.normalize("NFKD", name)
        letters = "".join(char for char in decomposed if not unicodedata.combining(char))
    folded = letters.casefold().strip().replace("-", "_").replace(" ", "_")
    return folded in SYSTEM_REASONS
