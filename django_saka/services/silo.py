"""The silo singleton: reading it and moving grains in and out with one UPDATE."""

from __future__ import annotations

from typing import Any

from django.db.models import F

from ..db import alias
from ..models import SILO_ID, Silo
from .results import SiloState, result_fields


def ensure_silo(using: str | None = None) -> None:
    """Create the singleton row if it is missing (the migration creates it; a flush removes it)."""
    Silo.objects.using(using or alias()).get_or_create(pk=SILO_ID)


def add_to_silo(amount: int, *, using: str | None = None, **fields: Any) -> None:
    """Add ``amount`` (negative to take out) to the silo balance in one UPDATE.

    ``fields`` adds to counters (``total_closed=amount``) and sets timestamps
    (``last_compost_at=moment``): integers are added, anything else is assigned.
    """
    changes: dict[str, Any] = {"balance": F("balance") + amount}
    for name, value in fields.items():
        changes[name] = F(name) + value if isinstance(value, int) else value
    silo = Silo.objects.using(using or alias())
    if not silo.filter(pk=SILO_ID).update(**changes):
        ensure_silo(using)
        silo.filter(pk=SILO_ID).update(**changes)


def get_silo(using: str | None = None) -> SiloState:
    """The silo's balance and totals."""
    silo = Silo.objects.using(using or alias())
    row = silo.filter(pk=SILO_ID).values(*result_fields(SiloState)).first()
    return SiloState(**row) if row else SiloState()
