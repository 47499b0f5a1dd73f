"""Deleting many users at once while compost and redistribution chunks run: one lock
order (wallets by id, then the silo) means no deadlock reaches anyone."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.models import Transaction, Wallet
from tests.conftest import run_in_threads
from tests.factories import seed_wallets

pytestmark = [pytest.mark.server_db, pytest.mark.django_db(transaction=True)]

DELETERS = 2
ROUNDS = 15  # bulk deletions per deleter
BATCH = 6  # users per bulk deletion
SETTINGS = {
    "COMPOST": {"MIN_BALANCE": 10, "MIN_AMOUNT": 1},
    "REDISTRIBUTION": {"RATE": "0.5"},
}


@override_settings(SAKA=SETTINGS)
def test_bulk_deletions_during_cycles_never_deadlock():
    # Never active: every wallet is eligible for each back-dated compost period.
    users = [w.user_id for w in seed_wallets([1000] * (DELETERS * ROUNDS * BATCH + 20))]
    doomed, survivors = users[: DELETERS * ROUNDS * BATCH], users[DELETERS * ROUNDS * BATCH :]
    # Each deletion takes users spread over the whole id range, so its wallets
    # interleave with the wallets of the chunks and of the other deleter.
    batches = [doomed[i :: DELETERS * ROUNDS] for i in range(DELETERS * ROUNDS)]
    stop = threading.Event()
    cycle_errors: list[Exception] = []
    cycles_done = {"n": 0}

    def cycles():
        step = 0
        try:
            while not stop.is_set():
                step += 1
                # Each run is a new 91-day period, so the wallets are eligible again.
                as_of = timezone.now() - timedelta(days=91 * (500 - step))
                services.compost(now=as_of, chunk_size=3)
                services.redistribute(chunk_size=3)
                cycles_done["n"] += 1
        except Exception as error:  # any error reaching this caller fails the test
            cycle_errors.append(error)
        finally:
            connection.close()

    def deleter(index):
        for batch in batches[index::DELETERS]:
            get_user_model().objects.filter(pk__in=batch).delete()
        return "done"

    cycle_thread = threading.Thread(target=cycles)
    cycle_thread.start()
    try:
        results = run_in_threads(DELETERS, deleter)
    finally:
        stop.set()
        cycle_thread.join()

    assert results == ["done"] * DELETERS, results
    assert not cycle_errors, cycle_errors
    assert cycles_done["n"] > 0
    assert not Wallet.objects.filter(user_id__in=doomed).exists()
    assert Wallet.objects.filter(user_id__in=survivors).count() == len(survivors)
    assert Transaction.objects.filter(reason="account_closed").count() == len(doomed)
    assert services.get_silo().total_closed > 0
    # every invariant is checked by the autouse fixture after this test
