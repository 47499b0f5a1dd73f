"""Faults: two starts at once, and a database connection dropped in the middle of a chunk."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from django_saka import services, signals
from django_saka.exceptions import CycleAlreadyRunning, CycleFailed
from django_saka.models import CycleRun, Transaction, Wallet
from tests.conftest import run_in_threads
from tests.factories import seed_wallets

LONG_AGO = timezone.now() - timedelta(days=365)


@pytest.mark.server_db
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("round_number", range(20))  # the race shows in about 1 round in 10
def test_the_same_cycle_started_twice_at_once_runs_once(round_number):
    seed_wallets([100] * 40, last_activity_at=LONG_AGO)

    results = run_in_threads(2, lambda i: services.compost(chunk_size=1))

    refused = [r for r in results if isinstance(r, CycleAlreadyRunning)]
    reports = [r for r in results if not isinstance(r, Exception)]
    assert len(refused) == 1 and len(reports) == 1, results
    assert reports[0].wallets_affected == 40
    assert CycleRun.objects.count() == 1  # the refused start wrote nothing
    assert Transaction.objects.filter(reason="compost").count() == 40


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_terminate_backend")
def test_a_connection_terminated_mid_chunk_rolls_the_chunk_back_and_the_run_resumes():
    wallets = seed_wallets([100] * 12, last_activity_at=LONG_AGO)
    blocked_wallet = wallets[6]  # in the third chunk of 3
    backend = {}

    def remember_backend(sender, run, **kwargs):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend["pid"] = cursor.fetchone()[0]

    outcome = {}

    def run_compost():
        try:
            outcome["report"] = services.compost(chunk_size=3)
        except Exception as error:
            outcome["error"] = error
        finally:
            connection.close()

    signals.cycle_started.connect(remember_backend, dispatch_uid="pid")
    blocker = connections.create_connection("default")
    try:
        with blocker.cursor() as cursor:  # another transaction holds one wallet's row lock
            blocker.set_autocommit(False)
            cursor.execute(
                "SELECT id FROM django_saka_wallet WHERE id = %s FOR UPDATE", [blocked_wallet.pk]
            )
            worker = threading.Thread(target=run_compost)
            worker.start()
            with connection.cursor() as probe:
                deadline = time.monotonic() + 30
                while True:  # wait until the chunk is stuck on that lock
                    probe.execute(
                        "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s",
                        [backend.get("pid", 0)],
                    )
                    row = probe.fetchone()
                    if row and row[0] == "Lock":
                        break
                    assert time.monotonic() < deadline, "the chunk never blocked"
                    time.sleep(0.05)
                probe.execute("SELECT pg_terminate_backend(%s)", [backend["pid"]])
            worker.join(timeout=30)
            blocker.rollback()
    finally:
        blocker.close()
        signals.cycle_started.disconnect(dispatch_uid="pid")

    assert isinstance(outcome.get("error"), CycleFailed), outcome
    failed = CycleRun.objects.get()
    assert failed.status == "failed" and failed.chunks_done == 2
    assert Transaction.objects.filter(reason="compost").count() == 6  # chunk 3 rolled back

    resumed = services.compost(chunk_size=3)
    assert resumed.resumed and resumed.status == "completed" and resumed.wallets_affected == 12
    assert Transaction.objects.filter(reason="compost").count() == 12
    assert set(
        Wallet.objects.filter(pk__in=[w.pk for w in wallets]).values_list("balance", flat=True)
    ) == {90}
