"""Signal receivers django-saka installs in the host project (connected in apps.ready)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .exceptions import WalletDeletionRefused
from .models import Wallet
from .services.closing import close_wallet


def _is_direct_wallet_deletion(origin: Any) -> bool:
    """True when the deletion started from wallets themselves, not from their users
    (or from anything else that cascades to users)."""
    if isinstance(origin, QuerySet):
        return issubclass(origin.model, Wallet)
    return isinstance(origin, Wallet)


@receiver(pre_delete, sender=Wallet, dispatch_uid="django_saka.close_wallet")
def return_grains_to_silo(
    sender: type[Wallet], instance: Wallet, using: str, **kwargs: Any
) -> None:
    """When a user is deleted, move its wallet's balance to the silo before the wallet goes.

    A wallet deleted on its own is refused: its user keeps the ledger rows, and a new
    wallet would start with totals that no longer match them.
    """
    if _is_direct_wallet_deletion(kwargs.get("origin")):
        raise WalletDeletionRefused(
            f"Wallet {instance.pk} cannot be deleted on its own; delete its user instead "
            "(the balance then returns to the silo with an account_closed ledger row)."
        )
    close_wallet(instance.pk, using=using)
