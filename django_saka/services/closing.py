"""Closing an account: a deleted user's grains go back to the silo, never lost."""

from __future__ import annotations

from django.db import transaction as db_transaction
from django.db.models import F

from .. import clock, signals
from ..constants import ACCOUNT_CLOSED_REASON
from ..models import Direction, Transaction, Wallet
from .silo import add_to_silo


def close_wallet(wallet_id: int, *, using: str) -> int:
    """Move the wallet's whole balance to the silo with an ``account_closed`` ledger row.

    Called just before the wallet row is deleted, inside the deleting transaction;
    returns the grains moved. The wallet is left at zero, so it balances even if the
    caller keeps it.
    """
    with db_transaction.atomic(using=using):
        wallet = (
            Wallet.objects.using(using)
            .select_for_update()
            .filter(pk=wallet_id)
            .values("user_id", "balance")
            .first()
        )
        if wallet is None or wallet["balance"] == 0:
            return 0
        amount = wallet["balance"]
        now = clock.now()
        Transaction.objects.using(using).create(
            user_id=wallet["user_id"],
            direction=Direction.SPEND,
            reason=ACCOUNT_CLOSED_REASON,
            amount=amount,
            created_at=now,
        )
        Wallet.objects.using(using).filter(pk=wallet_id).update(
            balance=F("balance") - amount, modified=now
        )
        add_to_silo(amount, using=using, total_closed=amount)
        user_id = wallet["user_id"]
        signals.send_on_commit(
            signals.account_closed, Wallet, using=using, user_id=user_id, amount=amount
        )
    return amount
