"""Fast, ledger-consistent test data: users with wallets and their opening ledger rows."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from django.contrib.auth import get_user_model

from django_saka.models import Transaction, Wallet

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
