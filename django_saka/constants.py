"""Fixed facts of the currency that are not settings."""

from __future__ import annotations

import unicodedata

MAX_GRAINS = 2**63 - 1  # the largest value a BigIntegerField holds on every backend

# The supply bound (docs/index.md, "The supply bound"): every wallet balance plus the
# silo never exceeds MAX_GRAINS. A harvest takes its room from the wallet's own
# ``allowance``, which is topped up from ``Silo.unissued`` at most this many grains at
# a time, so a harvest touches the shared silo row only about once per ALLOWANCE_BLOCK
# grains a wallet harvests (and at its first harvest), never on every call.
ALLOWANCE_BLOCK = 2**32
# Far from the top a grant is a whole block; near it, at most this fraction of what is
# left (unissued >> 20), so wallets that stop harvesting cannot sit on the last room.
ALLOWANCE_SHARE_SHIFT = 20

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
