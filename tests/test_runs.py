"""Runs: one at a time per kind, failures keep committed chunks, the next start resumes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from django_saka import services, signals
from django_saka.cycles import engine
from django_saka.exceptions import CycleAlreadyRunning, CycleFailed
from django_saka.models import CycleRun, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timezone.now() - timedelta(days=365)


def _fail_on_chunk(monkeypatch, failing_chunk):
    real_chunk = engine.run_chunk
    calls = {"n": 0}

    def flaky(*args):
        calls["n"] += 1
        if calls["n"] == failing_chunk:
            raise RuntimeError("disk on fire")
        return real_chunk(*args)

    monkeypatch.setattr(engine, "run_chunk", flaky)


def test_a_failed_chunk_keeps_earlier_chunks_and_the_next_start_resumes(monkeypatch):
    wallets = seed_wallets([100] * 5, last_activity_at=LONG_AGO)
    _fail_on_chunk(monkeypatch, failing_chunk=3)

    with pytest.raises(CycleFailed, match="disk on fire") as caught:
        services.compost(chunk_size=2)

    failed = caught.value.report
    assert (failed.status, failed.wallets_affected, failed.chunks) == ("failed", 4, 2)
    run = CycleRun.objects.get(pk=failed.run_id)
    assert run.status == "failed" and "disk on fire" in run.error
    assert run.shards.get().cursor > 0
    assert Transaction.objects.filter(reason="compost").count() == 4

    monkeypatch.undo()
    resumed = services.compost(chunk_size=2)
    assert resumed.run_id == run.pk and resumed.resumed and resumed.status == "completed"
    assert resumed.wallets_affected == 5
    assert (
        list(
            Wallet.objects.filter(pk__in=[w.pk for w in wallets]).values_list("balance", flat=True)
        )
        == [90] * 5
    )
    assert Transaction.objects.filter(reason="compost").count() == 5


def test_a_second_start_is_refused_and_writes_nothing():
    seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    running = CycleRun.objects.create(kind="compost", active_kind="compost")
    before = (Transaction.objects.count(), CycleRun.objects.count(), services.get_silo())

    with pytest.raises(CycleAlreadyRunning, match="already running") as caught:
        services.compost()

    assert caught.value.run_id == running.pk
    assert (Transaction.objects.count(), CycleRun.objects.count(), services.get_silo()) == before


def test_other_kinds_may_run_at_the_same_time():
    CycleRun.objects.create(kind="compost", active_kind="compost")
    seed_wallets([10])
    assert services.redistribute().reason == "nothing_to_redistribute"


@override_settings(SAKA={"RUN_LEASE_SECONDS": 30})
def test_a_run_without_heartbeat_for_the_lease_is_taken_over():
    wallets = seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    report = services.compost(dry_run=True)
    stale = CycleRun.objects.create(
        kind="compost",
        active_kind="compost",
        as_of=timezone.now(),
        cutoff=report.cutoff,
        parameters={"rate": "0.5", "min_balance": 50, "min_amount": 10},
        heartbeat_at=timezone.now() - timedelta(seconds=31),
        planned_wallets=3,
    )
    taken_over = services.compost()
    assert taken_over.run_id == stale.pk and taken_over.resumed
    # the run keeps its own parameters (rate 0.5), not today's settings (0.1)
    assert taken_over.rate == "0.5" and taken_over.grains_moved == 150
    assert len(wallets) == taken_over.wallets_affected


def test_signals_once_per_chunk_with_user_ids_and_amounts():
    wallets = seed_wallets([100, 200, 300], last_activity_at=LONG_AGO)
    events = []

    def record(name):
        def receiver(sender, **kwargs):
            events.append((name, kwargs))

        return receiver

    receivers = {
        signals.cycle_started: record("started"),
        signals.cycle_chunk_done: record("chunk"),
        signals.cycle_finished: record("finished"),
    }
    for signal, receiver in receivers.items():
        signal.connect(receiver)
    try:
        report = services.compost(chunk_size=2)
    finally:
        for signal, receiver in receivers.items():
            signal.disconnect(receiver)

    assert [name for name, _ in events] == ["started", "chunk", "chunk", "finished"]
    chunks = [kwargs for name, kwargs in events if name == "chunk"]
    assert [c["chunk"] for c in chunks] == [1, 2]
    assert chunks[0]["user_ids"] == [wallets[0].user_id, wallets[1].user_id]
    assert chunks[0]["amounts"] == [10, 20] and chunks[1]["amounts"] == [30]
    assert events[-1][1]["report"] == report and events[0][1]["kind"] == "compost"


@pytest.mark.parametrize("parameters", [{"rate": "abc"}, {"rate": "2"}, {}])
def test_a_run_with_unreadable_parameters_fails_once_and_frees_its_kind(parameters):
    """A run that cannot go on for a reason that will not change by itself is closed
    as failed at the first try, instead of being taken over and failing forever."""
    seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    broken = CycleRun.objects.create(
        kind="compost",
        active_kind="compost",
        as_of=timezone.now(),
        cutoff=timezone.now() - timedelta(days=90),
        parameters=parameters,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )
    with pytest.raises(CycleFailed, match="stored parameters are unreadable"):
        services.compost()
    broken.refresh_from_db()
    assert (broken.status, broken.active_kind) == ("failed", None)
    assert "unreadable" in broken.error
    fresh = services.compost()
    assert fresh.run_id != broken.pk and fresh.status == "completed"
    assert fresh.wallets_affected == 3


def test_a_worker_given_a_run_with_unreadable_parameters_closes_it():
    broken = CycleRun.objects.create(
        kind="compost", active_kind="compost", as_of=timezone.now(), parameters={"rate": "x"}
    )
    with pytest.raises(CycleFailed, match="unreadable"):
        engine.run_shard(broken.pk, 1)
    broken.refresh_from_db()
    assert (broken.status, broken.active_kind) == ("failed", None)
