"""One run split into shards: the same grains move, whatever the number of shards."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.cycles import engine
from django_saka.cycles.engine import LAST_WALLET_ID
from django_saka.cycles.kinds import Compost
from django_saka.db import Dialect
from django_saka.exceptions import CycleAlreadyRunning, InvalidAmount
from django_saka.models import CycleRun, CycleShard, Silo, Transaction, Wallet
from django_saka.rates import floor_share, parse_rate
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

NOW = timezone.now()
IDLE = NOW - timedelta(days=400)
ACTIVE = NOW - timedelta(days=2)
SIZE = 60


def _seed():
    """SIZE wallets in a fixed pattern: idle rich ones (composted), active ones (paid),
    and some of each too small to matter."""
    rng = random.Random(7)
    wallets = []
    for i in range(SIZE):
        moment = IDLE if i % 3 else ACTIVE
        wallets += seed_wallets([rng.randint(1, 900)], last_activity_at=moment)
    return wallets


def _expected(wallets):
    """The season on plain integers: compost at 0.1, then redistribution at 0.5."""
    balances = [w.balance for w in wallets]
    rows = []
    silo = 0
    for i, wallet in enumerate(wallets):
        amount = floor_share(balances[i], parse_rate("0.1"))
        if wallet.last_activity_at == IDLE and balances[i] >= 50 and amount >= 10:
            balances[i] -= amount
            silo += amount
            rows.append((i, "spend", amount, "compost"))
    pool = silo // 2
    active = [i for i, w in enumerate(wallets) if w.last_activity_at == ACTIVE]
    per = pool // len(active)
    for i in active:
        balances[i] += per
        rows.append((i, "earn", per, "redistribution"))
    silo -= per * len(active)
    assert silo - (pool - per * len(active)) > 0, "the scenario keeps a remainder in the silo"
    return sorted(rows), balances, silo


def _actual(wallets):
    index = {w.user_id: i for i, w in enumerate(wallets)}
    rows = sorted(
        (index[user_id], direction, amount, reason)
        for user_id, direction, amount, reason in Transaction.objects.filter(
            run__isnull=False
        ).values_list("user_id", "direction", "amount", "reason")
    )
    by_pk = dict(Wallet.objects.values_list("pk", "balance"))
    return rows, [by_pk[w.pk] for w in wallets], Silo.objects.get().balance


@pytest.mark.parametrize("shards", [1, 2, 3, 7])
def test_the_same_season_whatever_the_number_of_shards(shards):
    wallets = _seed()
    compost = services.compost(shards=shards, chunk_size=4)
    redistribution = services.redistribute(rate="0.5", shards=shards, chunk_size=3)

    assert _actual(wallets) == _expected(wallets)
    assert compost.shards == shards and redistribution.shards == shards
    assert redistribution.remainder > 0
    for report in (compost, redistribution):
        run = CycleRun.objects.get(pk=report.run_id)
        parts = run.shards.all()
        assert run.status == "completed" and len(parts) == shards
        assert {part.status for part in parts} == {"completed"}
        totals = parts.aggregate(w=Sum("wallets_done"), g=Sum("grains_done"))
        assert (run.wallets_done, run.grains_done) == (totals["w"], totals["g"])
        assert (report.wallets_affected, report.grains_moved) == (totals["w"], totals["g"])
    # the silo gave out exactly per_wallet x wallets credited
    assert (
        redistribution.grains_moved == redistribution.per_wallet * redistribution.wallets_affected
    )


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_shards_are_disjoint_cover_every_wallet_and_balance_the_count(shards):
    wallets = seed_wallets([500] * 70, last_activity_at=IDLE)
    report = services.compost(shards=shards, dry_run=False, chunk_size=1000)
    parts = list(CycleRun.objects.get(pk=report.run_id).shards.order_by("number"))
    assert parts[0].after_id == 0 and parts[-1].last_id == LAST_WALLET_ID
    for before, after in itertools.pairwise(parts):
        assert before.last_id == after.after_id
    counts = [sum(1 for w in wallets if p.after_id < w.pk <= p.last_id) for p in parts]
    assert sum(counts) == 70 and max(counts) - min(counts) <= 1
    assert [p.wallets_done for p in parts] == counts


def test_fewer_candidates_than_shards_make_fewer_shards():
    seed_wallets([500] * 2, last_activity_at=IDLE)
    report = services.compost(shards=5)
    run = CycleRun.objects.get(pk=report.run_id)
    assert run.shards.count() == 2 and report.wallets_affected == 2


def _planned_run(shards):
    """A compost run planned and split, with no shard driven yet (as a queue would leave it)."""
    seed_wallets([500] * 9, last_activity_at=IDLE)
    report = services.compost(dry_run=True)
    dialect = Dialect()
    run = engine.new_run(
        "compost",
        dialect.using,
        as_of=timezone.now(),
        cutoff=report.cutoff,
        parameters={"rate": "0.1", "min_balance": 50, "min_amount": 10, "chunk_size": 2},
        planned_wallets=9,
        shard_count=shards,
    )
    engine.split(Compost(run), shards, dialect)
    return run


def test_run_shard_drives_one_shard_and_the_last_one_completes_the_run():
    run = _planned_run(3)
    first = engine.run_shard(run.pk, 1)
    assert first.status == "running" and first.wallets_affected == 3
    engine.run_shard(run.pk, 3)
    last = engine.run_shard(run.pk, 2)
    assert last.status == "completed" and last.wallets_affected == 9
    run.refresh_from_db()
    assert run.active_kind is None and run.chunks_done == 6  # 2 + 2 + 2 chunks of 2


def test_the_same_shard_delivered_twice_applies_once():
    run = _planned_run(2)
    engine.run_shard(run.pk, 1)
    again = engine.run_shard(run.pk, 1)
    assert Transaction.objects.filter(run=run).count() == again.wallets_affected
    engine.run_shard(run.pk, 2)
    twice = engine.run_shard(run.pk, 2)
    assert twice.status == "completed" and Transaction.objects.filter(run=run).count() == 9


def test_a_shard_driven_by_a_live_worker_is_refused_and_a_dead_one_taken_over():
    run = _planned_run(2)
    shard = CycleShard.objects.get(run=run, number=1)
    engine.set_shard_status(shard.pk, "running", connection.alias, heartbeat_at=timezone.now())
    with pytest.raises(CycleAlreadyRunning, match="driven by another worker"):
        engine.run_shard(run.pk, 1)
    assert not Transaction.objects.filter(run=run).exists()

    stale = timezone.now() - timedelta(seconds=121)
    CycleShard.objects.filter(pk=shard.pk).update(heartbeat_at=stale)
    CycleRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    taken = engine.run_shard(run.pk, 1)
    assert taken.wallets_affected > 0
    shard.refresh_from_db()
    assert shard.status == "completed" and shard.status_changed > stale


def test_a_start_is_refused_while_any_shard_is_alive():
    run = _planned_run(2)
    CycleShard.objects.filter(run=run, number=2).update(
        status="running", heartbeat_at=timezone.now()
    )
    CycleRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    with pytest.raises(CycleAlreadyRunning):
        services.compost()


def test_a_new_start_finishes_a_queued_run_whose_workers_never_came():
    run = _planned_run(3)
    CycleRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    report = services.compost()
    assert report.run_id == run.pk and report.resumed and report.status == "completed"
    assert report.wallets_affected == 9 and report.shards == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, 1001])
def test_shards_must_be_a_sensible_whole_number(bad):
    with pytest.raises(InvalidAmount, match="shards"):
        services.compost(shards=bad)
    with pytest.raises(InvalidAmount, match="shards"):
        services.redistribute(shards=bad)
    assert not CycleRun.objects.exists()


@override_settings(SAKA={"SHARDS": 3})
def test_the_shards_setting_is_the_default():
    seed_wallets([500] * 6, last_activity_at=IDLE)
    assert services.compost().shards == 3


def test_a_chunk_whose_planned_wallets_were_all_deleted_does_not_end_the_shard():
    """A redistribution walks its plan; a chunk of plan rows whose wallets are gone
    moves nothing and the shard goes on to the next ones."""
    from django.contrib.auth import get_user_model

    from django_saka.services.redistribution import plan_redistribution

    seed_wallets([5000], last_activity_at=IDLE)
    services.compost()
    planned = seed_wallets([10] * 6, last_activity_at=ACTIVE)
    launched = engine.launch(plan_redistribution(rate="1", chunk_size=2))
    gone = [planned[2].user_id, planned[3].user_id]
    get_user_model().objects.filter(pk__in=gone).delete()
    report = engine.run_shard(launched.report.run_id, 1)
    assert report.status == "completed" and report.wallets_affected == 4
    paid = set(
        Transaction.objects.filter(reason="redistribution").values_list("user_id", flat=True)
    )
    assert paid == {w.user_id for w in planned} - set(gone)
