"""compost_preview tells a person whether the next compost would take grains, and when."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.models import Wallet

pytestmark = pytest.mark.django_db


def test_recently_active_wallet_becomes_eligible_after_the_inactivity_period(user):
    services.harvest(user, "manual_adjust", amount=200)
    now = timezone.now()

    preview = services.compost_preview(user, now=now)
    assert (preview.eligible, preview.amount, preview.days_until_eligible) == (False, 20, 90)

    later = services.compost_preview(user, now=now + timedelta(days=90))
    assert later.eligible and later.days_until_eligible == 0


def test_small_wallets_are_never_eligible(user):
    services.harvest(user, "manual_adjust", amount=49)
    preview = services.compost_preview(user, now=timezone.now() + timedelta(days=365))
    assert not preview.eligible and preview.days_until_eligible is None


def test_recently_composted_wallet_waits(user):
    services.harvest(user, "manual_adjust", amount=200)
    now = timezone.now() + timedelta(days=200)
    Wallet.objects.filter(user=user).update(last_composted_at=now - timedelta(days=10))
    preview = services.compost_preview(user, now=now)
    assert not preview.eligible and preview.days_until_eligible == 80


@override_settings(SAKA={"COMPOST": {"ENABLED": False}})
def test_disabled_compost(user):
    services.harvest(user, "manual_adjust", amount=200)
    assert services.compost_preview(user).days_until_eligible is None


def test_user_without_wallet(user):
    preview = services.compost_preview(user)
    assert (preview.eligible, preview.amount) == (False, 0)
