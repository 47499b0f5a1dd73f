"""Signal receivers django-saka installs in the host project (connected in apps.ready)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from .exceptions import WalletDeletionRefused
from .models import Wallet
from .services.closing import close_wallet, credit_silo


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
    """When a user is deleted, take its wallet's balance out before the wallet goes;
    :func:`credit_silo_after_deletion` puts it in the silo.

    A wallet deleted on its own is refused: its user keeps the ledger rows, and a new
    wallet would start with totals that no longer match them.
    """
    if _is_direct_wallet_deletion(kwargs.get("origin")):
        raise WalletDeletionRefused(
            f"Wallet {instance.pk} cannot be deleted on its own; delete its user instead "
            "(the balance then returns to the silo with an account_closed ledger row)."
        )
    close_wallet(instance.pk, using=using)


@receiver(post_delete, sender=Wallet, dispatch_uid="django_saka.credit_silo")
def credit_silo_after_deletion(
    sender: type[Wallet], instance: Wallet, using: str, **kwargs: Any
) -> None:
    """Credit the silo once per deletion, after every wallet of it was locked: the lock
    order of django_saka.services.closing (wallets by id, then the silo)."""
    credit_silo(using=using)
