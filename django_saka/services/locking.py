"""Finding, creating and locking one wallet row."""

from __future__ import annotations

from django.db import IntegrityError, connections
from django.db import transaction as db_transaction

from ..db import alias
from ..models import Wallet
from .users import is_active_of_wallet_user, require_active_user

_LOCKED_FIELDS = ("id", "user_id", "balance", "total_harvested", "total_spent")


def lock_wallet(user_id: int) -> Wallet | None:
    """Lock the user's wallet row for the rest of the transaction, or None if it has none.

    PostgreSQL takes FOR NO KEY UPDATE, which does not block inserts of rows that
    reference the wallet; other backends take FOR UPDATE (SQLite locks the whole
    database on the first write instead). The same statement reads the user's
    ``is_active`` into ``wallet.user_is_active`` (None when the user model has no
    such field).
    """
    using = alias()
    no_key = connections[using].features.has_select_for_no_key_update
    locked = Wallet.objects.using(using).select_for_update(no_key=no_key).only(*_LOCKED_FIELDS)
    is_active = is_active_of_wallet_user()
    if is_active is not None:
        locked = locked.annotate(user_is_active=is_active)
    wallet = locked.filter(user_id=user_id).first()
    if wallet is not None and is_active is None:
        wallet.user_is_active = None
    return wallet


def ensure_wallet(user_id: int) -> None:
    """Create the user's wallet if it has none; safe when many callers race to create it.

    A deleted user is refused with :class:`InvalidUser` and a deactivated one with
    :class:`InactiveUser`, before anything is written.

    Runs outside the locking transaction and commits on its own, so a losing
    racer's duplicate-key error (and the shared lock InnoDB keeps after it) ends
    before the wallet is locked; otherwise racers holding that shared lock would
    deadlock when they all ask for the exclusive one. Inside a caller's own
    transaction it can only use a savepoint.
    """
    require_active_user(user_id)
    using = alias()
    try:
        with db_transaction.atomic(using=using):
            Wallet.objects.using(using).create(user_id=user_id)
    except IntegrityError:
        if not Wallet.objects.using(using).filter(user_id=user_id).exists():
            raise
