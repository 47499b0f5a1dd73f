"""The documented QuerySet helpers on Wallet.objects and Transaction.objects."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from django_saka import services
from django_saka.models import Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db


def test_ledger_helpers_separate_own_moves_from_system_moves(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "manual_adjust", amount=100)
    services.spend(alice, 30, "plant")
    services.harvest(bob, "content_read")
    bob.delete()  # an account_closed SPEND row: a system move

    assert sorted(Transaction.objects.earned().values_list("amount", flat=True)) == [10, 100]
    assert sorted(Transaction.objects.spent().values_list("reason", flat=True)) == [
        "account_closed",
        "plant",
    ]
    assert Transaction.objects.harvests().count() == 2
    assert list(Transaction.objects.user_spends().values_list("amount", flat=True)) == [30]
    since = timezone.now() - timedelta(hours=1)
    assert Transaction.objects.harvests_since(alice.pk, "manual_adjust", since).count() == 1


def test_wallet_helpers():
    now = timezone.now()
    old, recent = seed_wallets([10], last_activity_at=now - timedelta(days=100)) + seed_wallets(
        [10], last_activity_at=now
    )
    never = seed_wallets([10])[0]
    inactive = Wallet.objects.inactive_since(now - timedelta(days=90))
    assert set(inactive.values_list("pk", flat=True)) == {old.pk, never.pk}
    assert Wallet.objects.for_user(recent.user_id).get() == recent
