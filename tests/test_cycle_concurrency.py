"""Harvests and spends racing compost and redistribution on PostgreSQL and MariaDB."""

from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.exceptions import InsufficientBalance
from django_saka.models import Transaction
from tests.conftest import run_in_threads
from tests.factories import seed_wallets

pytestmark = [pytest.mark.server_db, pytest.mark.django_db(transaction=True)]

WORKERS = 8
OPERATIONS = 60
CYCLES = 6

LOAD_SETTINGS = {
    "REASONS": {"tick": {"reward": 3}, "manual_adjust": {"reward": None, "max_amount": 10**6}},
    "COMPOST": {"MIN_BALANCE": 10, "MIN_AMOUNT": 1},
    "REDISTRIBUTION": {"RATE": "0.5"},
}


@override_settings(SAKA=LOAD_SETTINGS)
def test_eight_workers_and_both_cycles_lose_nothing():
    # Never active: eligible for every back-dated compost until the workers touch them.
    users = [w.user for w in seed_wallets([500] * 30, reason="manual_adjust")]
    seed_wallets([100_000], reason="manual_adjust")[0].user.delete()  # fills the silo
    cycle_errors: list[Exception] = []
    cycles_done = {"compost": 0, "redistribution": 0}

    def cycle_loop(kind):
        try:
            for step in range(1, CYCLES + 1):
                if kind == "compost":
                    # each run is a new period, so wallets are eligible again
                    as_of = timezone.now() - timedelta(days=91 * (CYCLES + 1 - step))
                    services.compost(now=as_of, chunk_size=4)
                else:
                    services.redistribute(chunk_size=5)
                cycles_done[kind] += 1
        except Exception as error:  # any error reaching this caller fails the test
            cycle_errors.append(error)
        finally:
            connection.close()

    def worker(index):
        rng = random.Random(index)
        acknowledged = {"tick": 0, "plant": 0}
        for _ in range(OPERATIONS):
            user = rng.choice(users)
            if rng.random() < 0.5:
                services.harvest(user, "tick")
                acknowledged["tick"] += 1
            else:
                try:
                    services.spend(user, rng.randint(1, 40), "plant")
                    acknowledged["plant"] += 1
                except InsufficientBalance:
                    pass
        return acknowledged

    cycle_threads = [
        threading.Thread(target=cycle_loop, args=(kind,)) for kind in ("compost", "redistribution")
    ]
    for thread in cycle_threads:
        thread.start()
    results = run_in_threads(WORKERS, worker)
    for thread in cycle_threads:
        thread.join()

    errors = [r for r in results if isinstance(r, Exception)] + cycle_errors
    assert not errors, errors
    assert cycles_done == {"compost": CYCLES, "redistribution": CYCLES}
    assert Transaction.objects.filter(reason="tick").count() == sum(r["tick"] for r in results)
    assert Transaction.objects.filter(reason="plant").count() == sum(r["plant"] for r in results)
    assert Transaction.objects.filter(reason="compost").exists()
    assert Transaction.objects.filter(reason="redistribution").exists()
    # every invariant is checked by the autouse fixture after this test
