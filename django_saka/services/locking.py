"""Finding, creating and locking one wallet row."""

from __future__ import annotations

from django.db import connections

from ..db import alias
from ..models import Wallet
from .statements import LockedWallet, lock_wallet
from .users import require_active_user

__all__ = ["LockedWallet", "lock_or_create_wallet", "lock_wallet"]


def lock_or_create_wallet(user_id: int) -> LockedWallet:
    """Lock the user's wallet, creating it first if the user has none yet.

    A deleted user is refused with :class:`InvalidUser` and a deactivated one with
    :class:`InactiveUser`, before anything is written.

    Runs inside the caller's transaction, so a first harvest that fails leaves no
    wallet behind. Concurrent first harvests of one user insert with a conflict
    clause: the losers wait for the winner's insert and then find its row, and none
    fails on the duplicate. See :func:`_insert_if_missing` for why MariaDB/MySQL
    needs its own clause.
    """
    wallet = lock_wallet(user_id)
    if wallet is None:
        require_active_user(user_id)
        _insert_if_missing(user_id)
        wallet = lock_wallet(user_id)
        if wallet is None:  # pragma: no cover (the insert or the conflict made one)
            raise RuntimeError(f"the wallet of user {user_id} could not be created")
    return wallet


def _insert_if_missing(user_id: int) -> None:
    """Insert the user's wallet unless it exists, without a duplicate-key error.

    PostgreSQL and SQLite: ON CONFLICT DO NOTHING / INSERT OR IGNORE. InnoDB answers a
    duplicate insert (INSERT IGNORE included) with a shared lock on the existing row;
    two racers holding it and both asking for the exclusive lock next would deadlock.
    ON DUPLICATE KEY UPDATE (a no-op assignment) takes the exclusive lock at once, so
    racers queue on the row instead.
    """
    using = alias()
    row = [Wallet(user_id=user_id)]
    wallets = Wallet.objects.using(using)
    if connections[using].vendor == "mysql":
        wallets.bulk_create(row, update_conflicts=True, update_fields=["user"])
    else:
        wallets.bulk_create(row, ignore_conflicts=True)
