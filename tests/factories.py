"""Fast, ledger-consistent test data: users with wallets and their ledger rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Model
from django.utils import timezone

from django_saka.constants import COMPOST_REASON, REDISTRIBUTION_REASON
from django_saka.cycles import engine
from django_saka.models import (
    SILO_ID,
    CycleRun,
    CycleShard,
    Direction,
    Silo,
    Transaction,
    Wallet,
)
from django_saka.services.compost import plan_compost

_names = count(1)


def seed_wallets(
    balances: list[int],
    *,
    last_activity_at: datetime | None = None,
    last_composted_at: datetime | None = None,
    reason: str = "manual_adjust",
) -> list[Wallet]:
    """One user per balance, each with a wallet holding it and the EARN row that explains it.

    Uses bulk inserts (the services would refuse amounts past the daily caps).
    """
    user_model = get_user_model()
    prefix = f"seed{next(_names)}_"
    user_model.objects.bulk_create(
        [user_model(username=f"{prefix}{i}") for i in range(len(balances))]
    )
    users = list(user_model.objects.filter(username__startswith=prefix).order_by("pk"))
    Wallet.objects.bulk_create(
        [
            Wallet(
                user=user,
                balance=balance,
                total_harvested=balance,
                last_activity_at=last_activity_at,
                last_composted_at=last_composted_at,
            )
            for user, balance in zip(users, balances, strict=True)
        ]
    )
    Transaction.objects.bulk_create(
        [
            Transaction(
                user=user,
                direction="earn",
                amount=balance,
                reason=reason,
                created_at=last_activity_at or user.date_joined,
            )
            for user, balance in zip(users, balances, strict=True)
            if balance > 0
        ]
    )
    return list(Wallet.objects.filter(user__in=users).order_by("pk"))


@dataclass(frozen=True)
class Move:
    """One ledger row to seed: a member's own harvest ("earn") or spend ("spend"), or a
    cycle's move (reason "compost" or "redistribution", with its ``run_id``)."""

    direction: str
    amount: int
    reason: str
    created_at: datetime
    target: Model | None = None
    run_id: int | None = None
    pk: int | None = None


def seed_ledger(user: Any, moves: list[Move]) -> list[Transaction]:
    """Write ``moves`` for ``user`` in bulk, dated as given, and bring their wallet and the
    silo to what the rows add up to, so the ledger audit holds.

    Faster than the services and free of their clock and daily limits, for tests that
    need a history at chosen moments (and, with ``pk``, chosen ids).
    """
    rows = Transaction.objects.bulk_create(
        [
            Transaction(
                pk=move.pk,
                user=user,
                direction=move.direction,
                amount=move.amount,
                reason=move.reason,
                created_at=move.created_at,
                target=move.target,
                run_id=move.run_id,
            )
            for move in moves
        ]
    )
    wallet, _ = Wallet.objects.get_or_create(user=user)
    silo = Silo.objects.get(pk=SILO_ID)
    for move in moves:
        sign = 1 if move.direction == Direction.EARN else -1
        wallet.balance += sign * move.amount
        if move.reason == COMPOST_REASON:
            wallet.total_composted += move.amount
            wallet.last_composted_at = _later(wallet.last_composted_at, move.created_at)
            silo.balance += move.amount
            silo.total_composted += move.amount
            silo.last_compost_at = _later(silo.last_compost_at, move.created_at)
        elif move.reason == REDISTRIBUTION_REASON:
            wallet.total_received += move.amount
            silo.balance -= move.amount
            silo.total_redistributed += move.amount
            silo.last_redistribution_at = _later(silo.last_redistribution_at, move.created_at)
        else:
            if move.direction == Direction.EARN:
                wallet.total_harvested += move.amount
            else:
                wallet.total_spent += move.amount
            wallet.last_activity_at = _later(wallet.last_activity_at, move.created_at)
    wallet.save()
    silo.save()
    return rows


def _later(moment: datetime | None, other: datetime) -> datetime:
    return other if moment is None else max(moment, other)


def dead_compost_run(wallets: int = 4, shards: int = 2) -> CycleRun:
    """A compost run planned and left by its worker: ``wallets`` idle wallets to
    compost, ``shards`` shards, and no heartbeat for an hour."""
    seed_wallets([500] * wallets, last_activity_at=timezone.now() - timedelta(days=400))
    run_id = engine.launch(plan_compost(shards=shards)).report.run_id
    stale = timezone.now() - timedelta(hours=1)
    CycleRun.objects.filter(pk=run_id).update(heartbeat_at=stale)
    CycleShard.objects.filter(run_id=run_id).update(heartbeat_at=stale)
    return CycleRun.objects.get(pk=run_id)
