"""A deactivated account (``is_active=False``) can neither harvest nor spend; the
database decides, not the possibly stale instance the caller passes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_saka import services
from django_saka.exceptions import InactiveUser, SakaError
from django_saka.models import Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db


def _deactivate(user):
    """As another process would: in the database only, leaving ``user`` stale."""
    get_user_model().objects.filter(pk=user.pk).update(is_active=False)


@pytest.fixture
def member(user):
    services.harvest(user, "manual_adjust", amount=100)
    return user


def test_inactive_user_is_a_saka_error():
    assert issubclass(InactiveUser, SakaError)
    assert not issubclass(InactiveUser, ValueError)  # not bad input: the account's state


def test_a_deactivated_member_cannot_harvest_and_nothing_is_written(member):
    _deactivate(member)
    with pytest.raises(InactiveUser, match=f"User {member.pk} is deactivated"):
        services.harvest(member, "content_read")
    assert Transaction.objects.count() == 1
    assert services.get_balance(member).balance == 100


def test_a_deactivated_user_without_wallet_gets_none(user):
    user.is_active = False
    user.save()
    with pytest.raises(InactiveUser):
        services.harvest(user, "content_read")
    with pytest.raises(InactiveUser):  # not InsufficientBalance: the account is the reason
        services.spend(user, 1, "plant")
    assert not Wallet.objects.exists() and not Transaction.objects.exists()


def test_a_deactivated_member_cannot_spend_and_nothing_is_written(member):
    _deactivate(member)
    with pytest.raises(InactiveUser):
        services.spend(member, 10, "plant")
    assert Transaction.objects.count() == 1
    assert services.get_balance(member).balance == 100


def test_the_database_decides_not_the_instance_passed(member):
    assert member.is_active  # stale: the account is deactivated below
    _deactivate(member)
    with pytest.raises(InactiveUser):
        services.harvest(member, "poll_vote")
    get_user_model().objects.filter(pk=member.pk).update(is_active=True)
    member.is_active = False  # stale the other way: reactivated meanwhile
    assert services.harvest(member, "poll_vote").amount == 5


def test_reactivated_member_harvests_again(member):
    _deactivate(member)
    with pytest.raises(InactiveUser):
        services.harvest(member, "poll_vote")
    get_user_model().objects.filter(pk=member.pk).update(is_active=True)
    services.harvest(member, "poll_vote")
    assert services.get_balance(member).balance == 105


def test_the_check_costs_no_extra_statement(member):
    """is_active is read by the statement that locks the wallet."""
    with CaptureQueriesContext(connection) as captured:
        services.harvest(member, "poll_vote")
    statements = [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN"))
    ]
    # the lock (with is_active), the daily-limit aggregate, the INSERT and the UPDATE
    # (one statement on PostgreSQL)
    assert len(statements) == (3 if connection.vendor == "postgresql" else 4), statements
    assert "is_active" in statements[0]


def test_a_retry_of_a_request_counted_before_the_deactivation_gets_its_answer(member):
    first = services.spend(member, 10, "plant", idempotency_key="k")
    _deactivate(member)
    again = services.spend(member, 10, "plant", idempotency_key="k")
    assert again.pk == first.pk and again.replayed
    with pytest.raises(InactiveUser):  # a new request is refused
        services.spend(member, 10, "plant", idempotency_key="other")


def test_reading_a_deactivated_members_balance_still_works(member):
    _deactivate(member)
    assert services.get_balance(member).balance == 100


def test_compost_treats_deactivated_members_like_anyone_else():
    (wallet,) = seed_wallets([100], last_activity_at=timezone.now() - timedelta(days=365))
    _deactivate(wallet.user)
    report = services.compost()
    assert report.wallets_affected == 1
    wallet.refresh_from_db()
    assert wallet.balance == 90


def test_a_user_model_without_is_active_field_has_no_inactive_users(member, monkeypatch):
    from django_saka.services import users

    _deactivate(member)
    monkeypatch.setattr(users, "has_is_active_field", lambda: False)
    assert services.harvest(member, "poll_vote").amount == 5
    assert services.spend(member, 5, "plant").amount == 5
