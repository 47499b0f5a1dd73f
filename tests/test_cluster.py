"""The tasks against a real ``qcluster`` subprocess with 2 workers, on PostgreSQL, once
with django-q2's ORM broker and once with Redis (127.0.0.1:6379).

The cluster runs tests/settings_cluster.py on the test database; this process enqueues
to the same broker (the ``cluster`` fixture points django-q2's configuration here at
it, instead of the in-process "sync" mode of tests/settings.py). Test hooks that pause
a worker or make a shard fail are in tests/clusterhooks, ordered through files.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from django_saka import services, tasks
from django_saka.cycles import engine
from django_saka.models import CycleRun, CycleShard, Transaction
from django_saka.services.compost import plan_compost
from tests import settings_cluster
from tests.factories import seed_wallets
from tests.test_shards import ACTIVE, IDLE, _actual, _expected

pytestmark = pytest.mark.skipif(
    settings.DB_VENDOR != "postgres",
    reason="the real-cluster tests run on PostgreSQL only (SAKA_TEST_DB=postgres)",
)

ROOT = Path(__file__).resolve().parent.parent
BROKERS = ["orm", "redis"]


def wait_for(what: str, check: Callable[[], Any], seconds: float = 60, log: Path | None = None):
    """Poll ``check`` until it returns something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = log.read_text()[-4000:] if log and log.exists() else ""
            pytest.fail(f"timed out after {seconds} s waiting for {what}\n{tail}")
        time.sleep(0.1)


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, db=settings_cluster.REDIS_DB).ping()
    except redis.RedisError as error:
        message = f"Redis is not reachable at 127.0.0.1:6379 ({error})"
        if os.environ.get("SAKA_REQUIRE_DB") == "1":
            pytest.fail(message)
        pytest.skip(message)


class Cluster:
    """A running ``qcluster`` and the files the test hooks read."""

    def __init__(self, broker: str, control: Path, log: Path, process: subprocess.Popen):
        self.broker, self.control, self.log, self.process = broker, control, log, process

    def order(self, name: str, value: object) -> None:
        (self.control / name).write_text(str(value))

    def reset(self) -> None:
        for path in self.control.iterdir():
            path.unlink()
        self.queue().purge_queue()

    def queue(self):
        from django_q.brokers import get_broker

        return get_broker()

    def idle(self) -> bool:
        queue = self.queue()
        if self.broker == "orm":
            return queue.queue_size() == 0 and queue.lock_size() == 0
        return queue.queue_size() == 0

    def result(self, task_id: str) -> Any:
        from django_q.models import Task

        task = Task.objects.filter(id=task_id).first()
        return task.result if task is not None else None

    def wait(self, what: str, check: Callable[[], Any], seconds: float = 60) -> Any:
        assert self.process.poll() is None, self.log.read_text()[-4000:]
        return wait_for(what, check, seconds, self.log)

    def wait_run(self, run_id: int, seconds: float = 60) -> CycleRun:
        return self.wait(
            f"run {run_id} to complete",
            lambda: CycleRun.objects.filter(pk=run_id, status="completed").first(),
            seconds,
        )


def _point_django_q_at(broker: str) -> dict[str, Any]:
    """Make async_task in this process enqueue to the cluster's broker; returns what to
    restore. (django-q2 reads Q_CLUSTER once, at import, into ``Conf``.)"""
    from django_q.conf import Conf

    config = settings_cluster.q_cluster(broker)
    wanted = {
        "SYNC": False,
        "CLUSTER_NAME": config["cluster_name"],
        "ORM": config.get("orm"),
        "REDIS": config.get("redis"),
    }
    saved = {name: getattr(Conf, name) for name in wanted}
    for name, value in wanted.items():
        setattr(Conf, name, value)
    return saved


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM to qcluster's main process (it stops its sentinel, which stops the
    workers; a SIGTERM to every process of the group at once makes it hang), then
    SIGKILL to the process group: the forked workers and whatever else is left."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=20)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


@pytest.fixture(scope="module", params=BROKERS)
def running_cluster(
    request: pytest.FixtureRequest,
    django_db_setup: None,
    django_db_blocker: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    broker = request.param
    if broker == "redis":
        _redis_or_skip()
    workdir = tmp_path_factory.mktemp(f"cluster_{broker}")
    control, log = workdir / "control", workdir / "qcluster.log"
    control.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings_cluster",
        "SAKA_TEST_DB_NAME": connection.settings_dict["NAME"],
        "SAKA_CLUSTER_BROKER": broker,
        "SAKA_TEST_CONTROL_DIR": str(control),
    }
    saved = _point_django_q_at(broker)
    with django_db_blocker.unblock(), log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "django", "qcluster", "--settings", "tests.settings_cluster"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, killed as a whole
        )
        cluster = Cluster(broker, control, log, process)
        try:
            cluster.reset()
            from django_q.tasks import async_task

            ping = async_task("os.getpid")
            cluster.wait("the cluster to run a first task", lambda: cluster.result(ping), 90)
            yield cluster
        finally:
            _stop(process)
            from django_q.conf import Conf

            for name, value in saved.items():
                setattr(Conf, name, value)


@pytest.fixture
def cluster(running_cluster: Cluster, transactional_db: None) -> Iterator[Cluster]:
    """The module's cluster, with no order given and an empty queue; waits, after the
    test, for the tasks it left to finish (before the database is flushed)."""
    running_cluster.reset()
    yield running_cluster
    wait_for("the cluster's queue to drain", running_cluster.idle, 60, running_cluster.log)
    running_cluster.reset()


def _enqueue(func: str, *args: Any, **kwargs: Any) -> str:
    from django_q.tasks import async_task

    return async_task(func, *args, **kwargs)


def _composted_per_wallet() -> dict[int, int]:
    rows = Transaction.objects.filter(reason="compost").values("user_id").annotate(n=Count("id"))
    return {row["user_id"]: row["n"] for row in rows}


def _seed_season(size: int) -> list:
    """``size`` wallets as in tests/test_shards.py: idle ones (composted), active ones
    (paid), some of each too small to matter."""
    rng = random.Random(11)
    wallets = []
    for i in range(size):
        moment = IDLE if i % 3 else ACTIVE
        wallets += seed_wallets([rng.randint(1, 900)], last_activity_at=moment)
    return wallets


def _worker_pids(cluster: Cluster) -> set[int]:
    log = cluster.control / "chunks.log"
    lines = log.read_text().split() if log.exists() else []
    return {int(pid) for pid in lines}


def test_a_season_on_the_cluster_equals_one_process(cluster):
    """Compost then redistribution, each in 4 shards handed to 2 workers: the ledger
    (user, amount, reason, direction), the balances and the silo are those of the same
    season computed on plain integers (as one process gives them, tests/test_shards.py)."""
    wallets = _seed_season(120)
    cluster.order("chunk_sleep", "0.02")  # shards last long enough for both workers to work
    # Started here: planned in this process, its 4 shards enqueued to the cluster.
    started = tasks.compost(shards=4, chunk_size=5)
    assert started["status"] == "enqueued" and len(started["shard_tasks"]) == 4
    compost_run = cluster.wait_run(started["run_id"])
    # Started by the cluster: the start task itself is a task.
    _enqueue(tasks.__name__ + ".redistribute", rate="0.5", shards=4, chunk_size=3)
    redistribution_run = cluster.wait(
        "the redistribution to complete",
        lambda: CycleRun.objects.filter(kind="redistribution", status="completed").first(),
    )

    assert _actual(wallets) == _expected(wallets)
    assert compost_run.source == "django_saka.tasks.compost"
    assert redistribution_run.source == "django_saka.tasks.redistribute"
    for run in (compost_run, redistribution_run):
        assert run.shard_count == 4
        assert set(run.shards.values_list("status", flat=True)) == {"completed"}
    assert len(_worker_pids(cluster)) >= 2, "both workers drove shards"
    assert services.audit_ledger().ok


def test_the_same_shard_delivered_twice_applies_once(cluster):
    """Shard 1 enqueued twice at once (two workers may take both copies together) and
    once more after the run completed: its wallets are composted once."""
    seed_wallets([500] * 40, last_activity_at=IDLE)
    cluster.order("chunk_sleep", "0.05")  # the two copies overlap
    launched = engine.launch(plan_compost(shards=2, chunk_size=4))
    run_id = launched.report.run_id
    copies = [_enqueue(tasks.RUN_SHARD, run_id, 1) for _ in range(2)]
    other = _enqueue(tasks.RUN_SHARD, run_id, 2)
    cluster.wait_run(run_id)
    results = [cluster.wait("a result", lambda t=t: cluster.result(t)) for t in [*copies, other]]
    late = _enqueue(tasks.RUN_SHARD, run_id, 1)
    late_result = cluster.wait("the late copy's result", lambda: cluster.result(late))

    statuses = sorted(result["status"] for result in results[:2])
    # One copy drove the shard; the other found it driven (busy) or done.
    assert statuses in (["busy", "completed"], ["busy", "running"], ["completed", "running"])
    assert late_result["status"] == "completed" and late_result["wallets_affected"] == 40
    per_wallet = _composted_per_wallet()
    assert len(per_wallet) == 40 and set(per_wallet.values()) == {1}
    shard = CycleShard.objects.get(run_id=run_id, number=1)
    assert (shard.wallets_done, shard.chunks_done) == (20, 5)


def test_a_worker_killed_mid_shard_is_taken_over_and_nothing_applies_twice(cluster):
    """A worker SIGKILLed after chunk 3 of its shard. ORM broker: the unacknowledged
    task is handed out again after ``retry`` and takes the shard over (its lease has
    expired by then). Redis: nothing comes back by itself; ``resume_stalled`` (scheduled
    every 5 minutes by saka_schedules), enqueued after the lease, re-enqueues the shard."""
    seed_wallets([500] * 48, last_activity_at=IDLE)
    cluster.order("pause_after", 3)
    started = tasks.compost(shards=2, chunk_size=4)
    run_id = started["run_id"]
    cluster.wait("a worker to pause", lambda: (cluster.control / "paused.pid").exists())
    pid, number, chunk = map(int, (cluster.control / "paused.pid").read_text().split())
    assert chunk == 3
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()

    shard = CycleShard.objects.get(run_id=run_id, number=number)
    assert (shard.status, shard.chunks_done) == ("running", 3)
    other = 3 - number
    cluster.wait(
        "the other shard to complete",
        lambda: CycleShard.objects.filter(run_id=run_id, number=other, status="completed").exists(),
    )
    if cluster.broker == "redis":
        time.sleep(settings_cluster.LEASE + 1)
        assert CycleRun.objects.get(pk=run_id).status == "running"  # Redis gave nothing back
        _enqueue("django_saka.tasks.resume_stalled")
    run = cluster.wait_run(run_id, seconds=settings_cluster.RETRY + 60)
    took = time.monotonic() - killed_at

    if cluster.broker == "orm":
        assert took >= settings_cluster.RETRY - 3, "taken over when the broker handed it out"
    per_wallet = _composted_per_wallet()
    assert len(per_wallet) == 48 and set(per_wallet.values()) == {1}
    assert run.wallets_done == 48 and run.chunks_done == 12
    shard.refresh_from_db()
    assert (shard.status, shard.wallets_done, shard.chunks_done) == ("completed", 24, 6)
    assert services.audit_ledger().ok


def test_a_failing_shard_reaches_the_failure_list_and_the_run(cluster):
    """Every chunk of shard 2 fails: django-q2 files the task under Failure with the
    error, the run is failed with the same error, shard 1 completes. Once the cause is
    gone, starting again resumes shard 2 only."""
    from django_q.models import Failure

    seed_wallets([500] * 24, last_activity_at=IDLE)
    cluster.order("fail_shard", 2)
    run_id = tasks.compost(shards=2, chunk_size=4)["run_id"]
    failure = cluster.wait(
        "the failure", lambda: Failure.objects.filter(func=tasks.RUN_SHARD).first()
    )
    cluster.wait(
        "shard 1 to complete",
        lambda: CycleShard.objects.filter(run_id=run_id, number=1, status="completed").exists(),
    )

    assert "injected failure in shard 2" in str(failure.result)
    assert failure.args == (run_id, 2)
    run = CycleRun.objects.get(pk=run_id)
    assert run.status == "failed" and "injected failure in shard 2" in run.error
    assert len(_composted_per_wallet()) == 12

    (cluster.control / "fail_shard").unlink()
    again = tasks.compost()
    assert again["status"] == "enqueued" and again["resumed"] and len(again["shard_tasks"]) == 1
    cluster.wait_run(run_id)
    per_wallet = _composted_per_wallet()
    assert len(per_wallet) == 24 and set(per_wallet.values()) == {1}
