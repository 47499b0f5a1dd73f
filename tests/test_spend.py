"""Spend: planting grains, optionally on something a person supports."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_saka import services, signals
from django_saka.exceptions import InsufficientBalance, InvalidInput, UnknownReason
from django_saka.models import Transaction, Wallet
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def rich_user(user):
    services.harvest(user, "manual_adjust", amount=100)
    return user


def test_spend_debits_and_records(rich_user):
    row = services.spend(rich_user, 30, "plant")

    assert row.direction == "spend" and row.amount == 30
    balance = services.get_balance(rich_user)
    assert balance.balance == 70 and balance.total_spent == 30
    assert balance.last_activity_at == row.created_at


def test_spend_more_than_balance_is_refused_and_writes_nothing(rich_user):
    with pytest.raises(InsufficientBalance) as caught:
        services.spend(rich_user, 101, "plant")
    assert caught.value.balance == 100 and caught.value.requested == 101
    assert Transaction.objects.count() == 1
    assert services.get_balance(rich_user).balance == 100


def test_spend_without_wallet_is_insufficient_and_creates_nothing(user):
    with pytest.raises(InsufficientBalance):
        services.spend(user, 1, "plant")
    assert not Wallet.objects.exists()


def test_spend_can_empty_the_wallet_exactly(rich_user):
    services.spend(rich_user, 100, "plant")
    assert services.get_balance(rich_user).balance == 0


def test_system_reasons_cannot_be_spent_on(rich_user):
    for reserved in ("compost", "redistribution", "account_closed"):
        with pytest.raises(UnknownReason, match="reserved"):
            services.spend(rich_user, 1, reserved)


def test_target_and_support_summary(rich_user, make_user):
    garden = Project.objects.create(title="Community garden")
    other = Project.objects.create(title="Library")
    bob = make_user("bob")
    services.harvest(bob, "manual_adjust", amount=50)

    row = services.spend(rich_user, 10, "support", target=garden)
    services.spend(rich_user, 5, "support", target=garden)
    services.spend(bob, 20, "support", target=garden)
    services.spend(bob, 1, "support", target=other)

    assert row.target == garden
    summary = services.support_summary(garden)
    assert (summary.grains, summary.supporters) == (35, 2)
    assert services.support_summary(Project.objects.create(title="new")).grains == 0


def test_support_summary_is_one_query(rich_user, django_assert_num_queries):
    garden = Project.objects.create(title="Community garden")
    services.spend(rich_user, 10, "support", target=garden)
    services.support_summary(garden)  # warm the content type cache
    with django_assert_num_queries(1):
        services.support_summary(garden)


def test_unsaved_target_is_refused(rich_user):
    with pytest.raises(InvalidInput, match="saved model instance"):
        services.spend(rich_user, 1, "support", target=Project(title="unsaved"))
    assert services.get_balance(rich_user).balance == 100


def test_spent_signal_carries_target(rich_user, django_capture_on_commit_callbacks):
    garden = Project.objects.create(title="Community garden")
    received = []
    signals.spent.connect(lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            services.spend(rich_user, 10, "support", target=garden)
    finally:
        signals.spent.disconnect(dispatch_uid="t")
    assert received[0]["target"] == garden and received[0]["balance"] == 90


@override_settings(SAKA={"ENABLED": False})
def test_disabled_spend_returns_none(user):
    assert services.spend(user, 10, "plant") is None
    assert not Transaction.objects.exists()
