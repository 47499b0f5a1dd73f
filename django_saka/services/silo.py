"""The silo singleton: reading it, moving grains in and out with one UPDATE, and
granting harvest allowances from its unissued grains (the supply bound)."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, F, Value, When

from ..constants import ALLOWANCE_BLOCK, ALLOWANCE_SHARE_SHIFT, MAX_GRAINS
from ..db import alias
from ..exceptions import SupplyLimitReached
from ..models import SILO_ID, Silo
from ..wording import grains
from .results import SiloState, result_fields
from .retry import atomic_with_retry


def ensure_silo(using: str | None = None) -> None:
    """Create the singleton row if it is missing (the migration creates it; a flush removes it).

    Retried on a deadlock: on MariaDB two callers that both miss the row take the same
    gap lock, and both inserts deadlock; the retry finds the row the other created."""
    using = using or alias()
    atomic_with_retry(lambda: Silo.objects.using(using).get_or_create(pk=SILO_ID), using=using)


def saturating_add(column: str, amount: int) -> Case:
    """``column + amount``, stopping at MAX_GRAINS instead of overflowing.

    For lifetime totals (the silo's ``total_*``), which grow with every cycle however
    small the supply is: they count exactly up to MAX_GRAINS and then stay there (the
    audit compares them with the ledger's sum capped the same way). ``MAX_GRAINS -
    amount`` cannot overflow for 0 <= amount <= MAX_GRAINS.
    """
    return Case(
        When(**{f"{column}__gt": MAX_GRAINS - amount}, then=Value(MAX_GRAINS)),
        default=F(column) + amount,
    )


def add_to_silo(amount: int, *, using: str | None = None, **fields: Any) -> None:
    """Add ``amount`` (negative to take out) to the silo balance in one UPDATE.

    ``fields`` adds to counters (``total_closed=amount``, ``unissued=allowance``) and
    sets timestamps (``last_compost_at=moment``): integers are added, saturating at
    MAX_GRAINS, anything else is assigned. The balance itself is added exactly: the
    supply bound keeps it within range.
    """
    changes: dict[str, Any] = {"balance": F("balance") + amount}
    for name, value in fields.items():
        changes[name] = saturating_add(name, value) if isinstance(value, int) else value
    silo = Silo.objects.using(using or alias())
    if not silo.filter(pk=SILO_ID).update(**changes):
        ensure_silo(using)
        silo.filter(pk=SILO_ID).update(**changes)


def grant_allowance(needed: int, *, using: str | None = None) -> int:
    """Take at least ``needed`` grains of harvest allowance from the silo's unissued
    grains; returns how many were granted. Raises :class:`SupplyLimitReached` when
    fewer than ``needed`` are left.

    Called by a harvest, which has already locked its wallet: the silo row is locked
    second, as the lock order wants (services/closing.py). A grant is a whole
    ALLOWANCE_BLOCK while plenty is left, so this runs about once per block a wallet
    harvests; near the top it shrinks to a small share of what is left, so no wallet
    holds room it does not use while another is refused.
    """
    using = using or alias()
    silo = Silo.objects.using(using)
    row = silo.select_for_update().filter(pk=SILO_ID).values("unissued").first()
    if row is None:
        ensure_silo(using)
        row = silo.select_for_update().filter(pk=SILO_ID).values("unissued").first()
        if row is None:  # ensure_silo() has just created it, in this transaction
            raise RuntimeError("the silo row is missing right after ensure_silo()")
    unissued = row["unissued"]
    if unissued < needed:
        raise SupplyLimitReached(
            f"Harvesting would take the supply (every wallet plus the silo) past "
            f"{MAX_GRAINS}: {grains(unissued)} can still be issued, {grains(needed)} are needed."
        )
    granted = min(unissued, max(needed, min(ALLOWANCE_BLOCK, unissued >> ALLOWANCE_SHARE_SHIFT)))
    silo.filter(pk=SILO_ID).update(unissued=F("unissued") - granted)
    return granted


def get_silo(using: str | None = None) -> SiloState:
    """The silo's balance and totals."""
    silo = Silo.objects.using(using or alias())
    row = silo.filter(pk=SILO_ID).values(*result_fields(SiloState)).first()
    return SiloState(**row) if row else SiloState()
