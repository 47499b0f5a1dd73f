"""Closing an account: a deleted user's grains go back to the silo, never lost.

Lock order, the rule every path that touches wallets and the silo follows: wallet
rows first, in ascending id order, and the silo row last. Cycle chunks lock their
wallets ``ORDER BY id`` and update the silo at the end; a harvest or spend locks one
wallet, and a harvest that needs a new allowance grant locks the silo after it
(services/silo.grant_allowance). Two transactions that follow the rule can wait for
each other but never in a cycle, so they never deadlock.

Account closing follows it too, and this module is where that is enforced. Django's
deletion collector sorts the rows it deletes by primary key and sends every
``pre_delete`` before it deletes anything, then the ``post_delete`` signals. So
:func:`close_wallet`, run at each wallet's ``pre_delete``, locks and empties the
wallets of a deletion in id order and only adds up what they owe the silo;
:func:`credit_silo`, run at the first wallet ``post_delete``, credits the silo once
for the whole deletion, after its last wallet lock. (Crediting the silo wallet by
wallet would lock it before the next wallet: with ``User.objects.filter(...).delete()``
during a cycle, that deadlocked.)

Several deletions inside one transaction of yours each follow the rule, but the
second locks wallets after the first has locked the silo; delete them with one
queryset instead (docs/databases.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db import transaction as db_transaction
from django.db.models import F

from .. import clock, signals
from ..constants import ACCOUNT_CLOSED_REASON, MAX_GRAINS
from ..models import Direction, Transaction, Wallet
from .silo import add_to_silo


@dataclass
class _Owed:
    """Grains a deletion has taken from wallets and not yet credited to the silo."""

    block: Any  # the deletion's transaction.Atomic; identity marks the deletion
    using: str
    amount: int = 0
    allowance: int = 0  # harvest allowances the wallets held, back to ``unissued``


# Per thread, as Django's connections are. An entry whose atomic block has ended
# belongs to a deletion that failed and was rolled back: it is dropped, never credited.
_local = threading.local()


def _current_block(using: str) -> Any:
    blocks = connections[using].atomic_blocks
    return blocks[-1] if blocks else None


def _owed_list() -> list[_Owed]:
    owed: list[_Owed] = getattr(_local, "owed", [])
    alive = [
        entry
        for entry in owed
        if any(block is entry.block for block in connections[entry.using].atomic_blocks)
    ]
    _local.owed = alive
    return alive


def close_wallet(wallet_id: int, *, using: str) -> int:
    """Move the wallet's whole balance out, with an ``account_closed`` ledger row.

    Called at the wallet's ``pre_delete``, inside the deleting transaction; returns
    the grains moved. The wallet is left at zero, so it balances even if the caller
    keeps it. The grains reach the silo at :func:`credit_silo` (see the lock order
    above); outside an atomic block, which Django's collector always opens, at once.
    The wallet's unused harvest allowance goes back to the silo's ``unissued`` grains
    with them. The supply bound keeps the silo's balance in range: the grains were
    part of the supply already.
    """
    block = _current_block(using)
    with db_transaction.atomic(using=using):
        wallet = (
            Wallet.objects.using(using)
            .select_for_update()
            .filter(pk=wallet_id)
            .values("user_id", "balance", "allowance")
            .first()
        )
        if wallet is None or wallet["balance"] == wallet["allowance"] == 0:
            return 0
        amount, allowance = wallet["balance"], wallet["allowance"]
        now = clock.now()
        if amount:
            Transaction.objects.using(using).create(
                user_id=wallet["user_id"],
                direction=Direction.SPEND,
                reason=ACCOUNT_CLOSED_REASON,
                amount=amount,
                created_at=now,
            )
        Wallet.objects.using(using).filter(pk=wallet_id).update(
            balance=F("balance") - amount, allowance=0, modified=now
        )
        if block is None:
            add_to_silo(amount, using=using, total_closed=amount, unissued=allowance)
        else:
            _owe(block, using, amount, allowance)
        if amount:
            user_id = wallet["user_id"]
            signals.send_on_commit(
                signals.account_closed, Wallet, using=using, user_id=user_id, amount=amount
            )
    return amount


def _owe(block: Any, using: str, amount: int, allowance: int) -> None:
    owed = _owed_list()
    for entry in owed:
        if entry.block is block:
            entry.amount += amount
            entry.allowance += allowance
            return
    owed.append(_Owed(block, using, amount, allowance))


def credit_silo(*, using: str) -> int:
    """Credit the silo with what the current deletion took from its wallets; returns
    the grains credited (0 when nothing is owed, e.g. after the first wallet)."""
    block = _current_block(using)
    owed = _owed_list()
    for entry in owed:
        if entry.block is block:
            owed.remove(entry)
            add_to_silo(
                entry.amount,
                using=using,
                total_closed=entry.amount,
                unissued=min(entry.allowance, MAX_GRAINS),
            )
            return entry.amount
    return 0
