"""Every service works on the database the routers choose for the app's models."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.db import alias
from django_saka.models import CycleRun, CycleShard, Silo, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(databases=["default", "other"], transaction=True)


@override_settings(DATABASE_ROUTERS=["tests.routers.EverythingOnOther"])
def test_the_services_run_on_the_routed_database():
    assert alias() == "other"
    user_model = get_user_model()
    alice = user_model.objects.create(username="alice")
    services.harvest(alice, "manual_adjust", amount=300, idempotency_key="k1")
    services.harvest(alice, "manual_adjust", amount=300, idempotency_key="k1")  # a retry
    services.spend(alice, 20, "plant")
    seed_wallets([500] * 5, last_activity_at=timezone.now() - timedelta(days=400))
    compost = services.compost(shards=2, chunk_size=2)
    redistribution = services.redistribute(rate="1", shards=2)
    alice.delete()

    assert compost.status == redistribution.status == "completed"
    assert redistribution.wallets_affected == 1
    assert services.audit_ledger().ok
    assert services.get_silo().balance == Silo.objects.using("other").get().balance > 0
    assert Transaction.objects.using("other").filter(reason="account_closed").exists()
    for model in (Wallet, Transaction, CycleRun, CycleShard):
        assert not model.objects.using("default").exists(), model
    assert not Silo.objects.using("default").filter(balance__gt=0).exists()
