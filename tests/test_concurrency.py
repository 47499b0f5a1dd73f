"""Real concurrency on PostgreSQL and MariaDB: threads, each with its own connection."""

from __future__ import annotations

import pytest

from django_saka import services
from django_saka.exceptions import DailyLimitReached, InsufficientBalance
from django_saka.models import Transaction, Wallet
from tests.conftest import run_in_threads

pytestmark = [pytest.mark.server_db, pytest.mark.django_db(transaction=True)]

THREADS = 20
ROUNDS = 20


def _raised(results, kind):
    unexpected = [r for r in results if isinstance(r, Exception) and not isinstance(r, kind)]
    assert not unexpected, unexpected
    return sum(isinstance(r, kind) for r in results)


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_parallel_harvests_respect_the_daily_limit(make_user, round_number):
    person = make_user(f"limit{round_number}")
    services.harvest(person, "poll_vote")  # the wallet exists; the race is on the limit

    results = run_in_threads(THREADS, lambda i: services.harvest(person, "content_read"))

    assert _raised(results, DailyLimitReached) == THREADS - 3
    assert Transaction.objects.filter(user=person, reason="content_read").count() == 3
    assert services.get_balance(person).balance == 5 + 3 * 10


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_parallel_spends_never_overdraw(make_user, round_number):
    person = make_user(f"spender{round_number}")
    services.harvest(person, "manual_adjust", amount=100)

    results = run_in_threads(THREADS, lambda i: services.spend(person, 10, "plant"))

    assert _raised(results, InsufficientBalance) == THREADS - 10
    assert services.get_balance(person).balance == 0
    assert Transaction.objects.filter(user=person, direction="spend").count() == 10


@pytest.mark.parametrize("round_number", range(ROUNDS))
def test_parallel_first_harvests_create_one_wallet(make_user, round_number):
    person = make_user(f"newcomer{round_number}")

    results = run_in_threads(THREADS, lambda i: services.harvest(person, "poll_vote"))

    assert _raised(results, DailyLimitReached) == THREADS - 10
    assert Wallet.objects.filter(user=person).count() == 1
    assert services.get_balance(person).balance == 10 * 5


def test_parallel_retries_with_one_idempotency_key_write_once(make_user):
    person = make_user("retrier")
    results = run_in_threads(
        THREADS, lambda i: services.harvest(person, "poll_vote", idempotency_key="once")
    )
    assert _raised(results, Exception) == 0
    assert len({row.pk for row in results}) == 1
    assert services.get_balance(person).balance == 5
