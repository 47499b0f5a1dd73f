"""``Wallet.modified`` (model-utils' TimeStampedModel) moves with every change of a wallet."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db.models.signals import pre_delete
from django.utils import timezone

from django_saka import services
from django_saka.models import Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=400)


def _age(wallets):
    Wallet.objects.filter(pk__in=[w.pk for w in wallets]).update(modified=LONG_AGO)


def _modified(wallet):
    return Wallet.objects.values_list("modified", flat=True).get(pk=wallet.pk)


@pytest.mark.parametrize("shards", [1, 2])
def test_a_compost_chunk_sets_modified(shards):
    idle, untouched = seed_wallets([500, 5], last_activity_at=LONG_AGO)
    _age([idle, untouched])
    before = timezone.now()
    services.compost(shards=shards)
    assert _modified(idle) >= before
    assert _modified(untouched) == LONG_AGO  # not composted (too small), not changed


def test_a_redistribution_chunk_sets_modified():
    (idle,) = seed_wallets([5000], last_activity_at=LONG_AGO)
    services.compost()
    (active,) = seed_wallets([10], last_activity_at=timezone.now() - timedelta(days=1))
    _age([idle, active])
    before = timezone.now()
    assert services.redistribute(rate="1").wallets_affected == 1
    assert _modified(active) >= before and _modified(idle) == LONG_AGO


def test_harvest_spend_and_closing_set_modified(make_user):
    alice = make_user("alice")
    services.harvest(alice, "manual_adjust", amount=100)
    wallet = Wallet.objects.get(user=alice)
    for move in (
        lambda: services.harvest(alice, "content_read"),
        lambda: services.spend(alice, 5, "plant"),
    ):
        _age([wallet])
        before = timezone.now()
        move()
        assert _modified(wallet) >= before

    # Closing an account empties the wallet just before it is deleted: a receiver
    # connected after the app's own sees the emptied row, modified, in that moment.
    seen = {}

    def look(sender, instance, **kwargs):
        seen.update(Wallet.objects.values("balance", "modified").get(pk=instance.pk))

    _age([wallet])
    before = timezone.now()
    pre_delete.connect(look, sender=Wallet)
    try:
        get_user_model().objects.filter(pk=alice.pk).delete()
    finally:
        pre_delete.disconnect(look, sender=Wallet)
    assert seen["balance"] == 0 and seen["modified"] >= before
