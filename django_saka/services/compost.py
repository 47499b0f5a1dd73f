"""Compost: grains of inactive wallets return to the silo (a demurrage)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from .. import conf
from ..conf import floor_share
from ..models import Wallet
from . import validation
from .results import CompostPreview


def _days_until(moment: datetime | None, period: timedelta, now: datetime) -> int:
    """Whole days from ``now`` until ``moment + period`` (0 if already past or never set)."""
    if moment is None:
        return 0
    remaining = moment + period - now
    return max(0, math.ceil(remaining / timedelta(days=1)))


def compost_preview(user: Any, *, now: datetime | None = None) -> CompostPreview:
    """Whether the next compost would take grains from ``user``'s wallet, and how many."""
    user_id = validation.user_id_of(user)
    settings = conf.compost()
    now = now or timezone.now()
    wallet = (
        Wallet.objects.for_user(user_id)
        .values("balance", "last_activity_at", "last_composted_at")
        .first()
    ) or {"balance": 0, "last_activity_at": None, "last_composted_at": None}
    amount = floor_share(wallet["balance"], settings.rate)
    if (
        not settings.enabled
        or wallet["balance"] < settings.min_balance
        or amount < settings.min_amount
        or amount == 0
    ):
        return CompostPreview(eligible=False, amount=amount, days_until_eligible=None)
    period = timedelta(days=settings.inactivity_days)
    days = max(
        _days_until(wallet["last_activity_at"], period, now),
        _days_until(wallet["last_composted_at"], period, now),
    )
    return CompostPreview(eligible=days == 0, amount=amount, days_until_eligible=days)
