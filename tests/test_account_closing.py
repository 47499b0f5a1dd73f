"""Deleting a user loses nothing: grains go to the silo, ledger rows stay."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.db.models.signals import pre_delete
from django.db.transaction import atomic
from django.test.utils import CaptureQueriesContext

from django_saka import services, signals
from django_saka.exceptions import WalletDeletionRefused
from django_saka.models import Silo, Transaction, Wallet

pytestmark = pytest.mark.django_db


def test_deleting_a_user_returns_the_balance_to_the_silo(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.harvest(alice, "manual_adjust", amount=120)
    services.spend(alice, 20, "plant")
    services.harvest(bob, "content_read")
    silo_before = services.get_silo()

    alice.delete()

    silo = services.get_silo()
    assert silo.balance == silo_before.balance + 100
    assert silo.total_closed == 100
    assert not Wallet.objects.filter(user_id=alice.pk).exists()
    closed = Transaction.objects.get(reason="account_closed")
    assert (closed.direction, closed.amount, closed.user_id) == ("spend", 100, None)
    assert Transaction.objects.filter(user__isnull=True).count() == 3  # harvest, spend, closed
    assert services.get_balance(bob).balance == 10


def test_deleting_a_user_with_an_empty_wallet_writes_no_row(make_user):
    alice = make_user("alice")
    services.harvest(alice, "manual_adjust", amount=10)
    services.spend(alice, 10, "plant")
    alice.delete()
    assert not Transaction.objects.filter(reason="account_closed").exists()
    assert services.get_silo().balance == 0


def test_deleting_users_in_bulk(make_user):
    users = [make_user(f"u{i}") for i in range(5)]
    for index, person in enumerate(users):
        services.harvest(person, "manual_adjust", amount=10 * (index + 1))
    type(users[0]).objects.filter(pk__in=[u.pk for u in users]).delete()
    assert services.get_silo().balance == 150
    assert Transaction.objects.filter(reason="account_closed").count() == 5


def test_deleting_only_the_wallet_is_refused(user):
    services.harvest(user, "manual_adjust", amount=40)
    with pytest.raises(WalletDeletionRefused, match="delete its user instead"), atomic():
        Wallet.objects.filter(user=user).delete()
    with pytest.raises(WalletDeletionRefused), atomic():
        Wallet.objects.get(user=user).delete()
    assert services.get_balance(user).balance == 40
    assert services.get_silo().total_closed == 0


def test_account_closed_signal(user, django_capture_on_commit_callbacks):
    services.harvest(user, "manual_adjust", amount=40)
    received = []
    signals.account_closed.connect(
        lambda sender, **kw: received.append(kw), weak=False, dispatch_uid="t"
    )
    try:
        with django_capture_on_commit_callbacks(execute=True):
            user.delete()
    finally:
        signals.account_closed.disconnect(dispatch_uid="t")
    assert received == [
        {"signal": signals.account_closed, "user_id": received[0]["user_id"], "amount": 40}
    ]


def test_a_bulk_deletion_locks_every_wallet_before_the_silo(make_user):
    """The lock order of django_saka.services.closing: wallets in id order, the silo
    last and once, whatever order the users are given in."""
    users = [make_user(f"u{i}") for i in range(4)]
    for person in users:
        services.harvest(person, "manual_adjust", amount=10)
    wallet_ids = sorted(Wallet.objects.values_list("pk", flat=True))
    wallet_table, silo_table = Wallet._meta.db_table, Silo._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        type(users[0]).objects.filter(pk__in=[u.pk for u in reversed(users)]).delete()

    statements = [query["sql"] for query in queries]
    # close_wallet's locking read (the collector's own SELECT has no LIMIT).
    wallet_locks = [
        i
        for i, sql in enumerate(statements)
        if sql.startswith("SELECT") and wallet_table in sql and " LIMIT " in sql
    ]
    silo_updates = [
        i for i, sql in enumerate(statements) if sql.startswith("UPDATE") and silo_table in sql
    ]
    assert len(wallet_locks) == 4 and len(silo_updates) == 1
    assert max(wallet_locks) < silo_updates[0]
    locked_ids = [int(re.search(r"= (\d+) ORDER BY", statements[i])[1]) for i in wallet_locks]
    assert locked_ids == wallet_ids
    assert services.get_silo().total_closed == 40


def test_a_deletion_that_fails_midway_credits_nothing_and_a_retry_credits_once(make_user):
    users = [make_user(f"u{i}") for i in range(3)]
    for person in users:
        services.harvest(person, "manual_adjust", amount=10)
    last_wallet = Wallet.objects.order_by("pk").last().pk

    def refuse(sender, instance, **kwargs):
        if instance.pk == last_wallet:
            raise RuntimeError("a receiver of the host project failed")

    pre_delete.connect(refuse, sender=Wallet, dispatch_uid="test_refuse")
    try:
        with pytest.raises(RuntimeError), atomic():
            type(users[0]).objects.filter(pk__in=[u.pk for u in users]).delete()
    finally:
        pre_delete.disconnect(sender=Wallet, dispatch_uid="test_refuse")
    assert services.get_silo().total_closed == 0
    assert Wallet.objects.count() == 3

    type(users[0]).objects.filter(pk__in=[u.pk for u in users]).delete()
    silo = services.get_silo()
    assert (silo.balance, silo.total_closed) == (30, 30)
