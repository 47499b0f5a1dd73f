"""Counts of grains read right in messages: "1 grain", "2 grains"."""

from __future__ import annotations

import pytest

from django_saka import services
from django_saka.exceptions import DailyLimitReached, InsufficientBalance, InvalidAmount
from django_saka.models import Silo, Wallet
from django_saka.wording import grains

pytestmark = pytest.mark.django_db


def test_grains_agrees_with_its_count():
    assert [grains(n) for n in (0, 1, 2, 1000)] == [
        "0 grains",
        "1 grain",
        "2 grains",
        "1000 grains",
    ]


def test_error_messages_count_grains_in_the_right_number(user):
    with pytest.raises(
        InsufficientBalance, match=r"Cannot spend 1 grain: the wallet holds 0 grains"
    ):
        services.spend(user, 1, "plant")
    services.harvest(user, "manual_adjust", amount=1)
    with pytest.raises(
        InsufficientBalance, match=r"Cannot spend 2 grains: the wallet holds 1 grain\."
    ):
        services.spend(user, 2, "plant")
    with pytest.raises(InvalidAmount, match=r"at most 500 grains per harvest"):
        services.harvest(user, "manual_adjust", amount=501)
    services.harvest(user, "manual_adjust", amount=499)
    services.harvest(user, "manual_adjust", amount=499)
    with pytest.raises(DailyLimitReached, match=r"at most 1000 grains a day, 999 grains already"):
        services.harvest(user, "manual_adjust", amount=2)


def test_model_strings_count_grains(user):
    services.harvest(user, "manual_adjust", amount=1)
    assert str(Wallet.objects.get()) == "Wallet of alice: 1 grain"
    assert str(Silo(balance=1)) == "Silo: 1 grain" and str(Silo(balance=0)) == "Silo: 0 grains"
