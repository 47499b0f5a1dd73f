"""The django-q2 tasks: thin calls into the services, each safe to deliver twice.

Q_CLUSTER["sync"] runs each enqueued task at once, in this process; the real cluster
is tested in tests/test_cluster.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Success

from django_saka import services, tasks
from django_saka.exceptions import CycleFailed, LedgerAuditFailed
from django_saka.models import CycleRun, CycleShard, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timezone.now() - timedelta(days=400)


def test_a_compost_task_enqueues_one_task_per_shard_and_the_run_completes():
    seed_wallets([500] * 9, last_activity_at=LONG_AGO)
    result = tasks.compost(shards=3)
    assert result["status"] == "enqueued" and len(result["shard_tasks"]) == 3
    run = CycleRun.objects.get(pk=result["run_id"])
    assert run.status == "completed" and run.source == "django_saka.tasks.compost"
    assert run.wallets_done == 9 and run.shards.filter(status="completed").count() == 3
    shard_results = [task.result for task in Success.objects.filter(func=tasks.RUN_SHARD)]
    assert sorted(r["shard"] for r in shard_results) == [1, 2, 3]


def test_a_redistribution_task_pays_the_active_members():
    seed_wallets([5000], last_activity_at=LONG_AGO)
    services.compost()
    seed_wallets([10, 10], last_activity_at=timezone.now() - timedelta(days=1))
    result = tasks.redistribute(rate="1", shards=2)
    run = CycleRun.objects.get(pk=result["run_id"])
    assert run.status == "completed" and run.wallets_done == 2
    assert run.source == "django_saka.tasks.redistribute"


def test_a_second_delivery_of_a_start_finds_the_work_done():
    seed_wallets([500] * 3, last_activity_at=LONG_AGO)
    first = tasks.compost()
    again = tasks.compost()
    assert first["status"] == "enqueued"
    assert again["status"] == "skipped" and again["reason"] == "no_eligible_wallets"
    assert Transaction.objects.filter(reason="compost").count() == 3


def test_a_start_while_a_run_is_alive_says_so_and_writes_nothing():
    seed_wallets([500] * 3, last_activity_at=LONG_AGO)
    live = CycleRun.objects.create(
        kind="compost", active_kind="compost", parameters={"rate": "0.1"}
    )
    result = tasks.compost()
    assert result["status"] == "already_running" and result["run_id"] == live.pk
    assert not Transaction.objects.filter(reason="compost").exists()


def test_the_same_shard_delivered_twice_applies_once():
    seed_wallets([500] * 4, last_activity_at=LONG_AGO)
    run_id = tasks.compost(shards=2)["run_id"]
    again = tasks.run_shard(run_id, 1)
    assert again["status"] == "completed"
    assert Transaction.objects.filter(run_id=run_id).count() == 4


def test_a_shard_driven_by_a_live_worker_answers_busy():
    seed_wallets([500] * 4, last_activity_at=LONG_AGO)
    from django_saka.cycles import engine
    from django_saka.services.compost import plan_compost

    launched = engine.launch(plan_compost(shards=2))
    shard = CycleShard.objects.get(run_id=launched.report.run_id, number=1)
    CycleShard.objects.filter(pk=shard.pk).update(status="running", heartbeat_at=timezone.now())
    busy = tasks.run_shard(launched.report.run_id, 1)
    assert busy["status"] == "busy"
    assert not Transaction.objects.filter(reason="compost").exists()


def test_resume_stalled_enqueues_the_shards_of_a_dead_worker():
    seed_wallets([500] * 6, last_activity_at=LONG_AGO)
    from django_saka.cycles import engine
    from django_saka.services.compost import plan_compost

    launched = engine.launch(plan_compost(shards=3))
    run_id = launched.report.run_id
    assert tasks.resume_stalled()["status"] == "nothing_stalled"  # just planned: alive
    stale = timezone.now() - timedelta(hours=1)
    CycleRun.objects.filter(pk=run_id).update(heartbeat_at=stale)
    CycleShard.objects.filter(run_id=run_id, number=2).update(status="running", heartbeat_at=stale)
    result = tasks.resume_stalled()
    assert result["shards"] == {run_id: [1, 2, 3]}
    assert CycleRun.objects.get(pk=run_id).status == "completed"
    assert Wallet.objects.filter(total_composted__gt=0).count() == 6


def test_a_failing_shard_raises_and_its_error_reaches_the_run(monkeypatch):
    seed_wallets([500] * 4, last_activity_at=LONG_AGO)
    from django_saka.cycles import engine

    def broken(*args):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine, "run_chunk", broken)
    # In sync mode django-q2 re-raises instead of filing a Failure (the real cluster,
    # tests/test_cluster.py, checks the failure list).
    with pytest.raises(CycleFailed, match="disk on fire"):
        tasks.compost(shards=2)
    run = CycleRun.objects.get()
    assert run.status == "failed" and "disk on fire" in run.error


def test_the_audit_task_reports_and_fails_loudly():
    seed_wallets([100])
    assert tasks.audit()["status"] == "ok"


@pytest.mark.corrupts_ledger
def test_the_audit_task_raises_on_a_broken_ledger():
    (wallet,) = seed_wallets([100])
    Wallet.objects.filter(pk=wallet.pk).update(balance=101)
    with pytest.raises(LedgerAuditFailed, match="discrepancies"):
        tasks.audit()


def test_inside_a_transaction_the_shards_are_enqueued_at_commit():
    from django.db import transaction

    seed_wallets([500] * 4, last_activity_at=LONG_AGO)
    with transaction.atomic():
        result = tasks.compost(shards=2)
        assert result["shard_tasks"] == []  # nothing a worker could look for yet
    assert len(result["shard_tasks"]) == 2
    assert CycleRun.objects.get(pk=result["run_id"]).status == "completed"


@pytest.mark.parametrize("task", ["compost", "redistribute"])
def test_a_scheduled_start_delivered_twice_starts_one_run(task):
    """django-q2 passes the schedule's occurrence (``scheduled_for``); a second delivery
    for the same occurrence finds its run and starts nothing, so a redistribution does
    not pay out twice."""
    from django_saka.models import Silo

    seed_wallets([5000] * 2, last_activity_at=LONG_AGO)
    if task == "redistribute":
        services.compost()
        seed_wallets([10] * 3, last_activity_at=timezone.now() - timedelta(days=1))
    occurrence = "2026-12-01T04:00:00+00:00"
    first = getattr(tasks, task)(scheduled_for=occurrence)
    silo = Silo.objects.get().balance
    again = getattr(tasks, task)(scheduled_for=occurrence)
    assert again == {
        "status": "already_done",
        "run_id": first["run_id"],
        "run_status": "completed",
        "scheduled_for": occurrence,
    }
    assert Silo.objects.get().balance == silo
    assert CycleRun.objects.get(pk=first["run_id"]).parameters["scheduled_for"] == occurrence
    next_time = getattr(tasks, task)(scheduled_for="2026-12-08T04:00:00+00:00")
    assert next_time["status"] != "already_done"
