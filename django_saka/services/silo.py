"""The silo singleton: reading it and moving grains in and out with one UPDATE."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from ..models import SILO_ID, Silo
from .results import SiloState


def ensure_silo(using: str | None = None) -> None:
    """Create the singleton row if it is missing (the migration creates it; a flush removes it)."""
    Silo.objects.using(using).get_or_create(pk=SILO_ID)


def add_to_silo(amount: int, *, using: str | None = None, **totals: Any) -> None:
    """Add ``amount`` (negative to take out) to the silo balance, and ``totals`` to its counters.

    ``totals`` maps counter field names to the increment, e.g. ``total_closed=amount``.
    """
    changes: dict[str, Any] = {"balance": F("balance") + amount}
    changes.update({name: F(name) + value for name, value in totals.items()})
    if not Silo.objects.using(using).filter(pk=SILO_ID).update(**changes):
        ensure_silo(using)
        Silo.objects.using(using).filter(pk=SILO_ID).update(**changes)


def get_silo() -> SiloState:
    """The silo's balance and totals."""
    row = (
        Silo.objects.filter(pk=SILO_ID)
        .values(
            "balance",
            "total_composted",
            "total_redistributed",
            "total_closed",
            "last_compost_at",
            "last_redistribution_at",
        )
        .first()
    )
    return SiloState(**row) if row else SiloState()
