"""Signal receivers django-saka installs in the host project (connected in apps.ready)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Wallet
from .services.closing import close_wallet


@receiver(pre_delete, sender=Wallet, dispatch_uid="django_saka.close_wallet")
def return_grains_to_silo(
    sender: type[Wallet], instance: Wallet, using: str, **kwargs: Any
) -> None:
    """Before a wallet is deleted (also when its user is), move its balance to the silo."""
    close_wallet(instance.pk, using=using)
