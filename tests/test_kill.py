"""A cycle worker killed with SIGKILL mid-run: the rerun finishes it, nothing applied twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
ELIGIBLE, INELIGIBLE, CHUNK, KILL_AFTER = 60, 25, 5, 3


def _worker_env(db_name):
    env = {**os.environ, "SAKA_TEST_DB_NAME": str(db_name), "PYTHONPATH": str(ROOT)}
    env.pop("SAKA_TEST_PAUSE_AFTER_CHUNK", None)
    return env


def _run(env, *args):
    result = subprocess.run(
        [sys.executable, "-m", "tests.cycle_worker", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


def _kill_mid_run(env):
    """Start a compost that pauses after chunk KILL_AFTER, wait for it, SIGKILL it."""
    paused = {**env, "SAKA_TEST_PAUSE_AFTER_CHUNK": str(KILL_AFTER)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.cycle_worker", "compost", str(CHUNK)],
        env=paused,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = _run(env, "check")["runs"]
        if runs and runs[-1][1] >= KILL_AFTER:
            break
        assert worker.poll() is None, worker.communicate()
        time.sleep(0.2)
    else:
        worker.kill()
        pytest.fail("the worker never reached the pause point")
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    assert worker.returncode == -signal.SIGKILL


def _kill_and_rerun(env):
    _run(env, "seed", str(ELIGIBLE), str(INELIGIBLE))
    _kill_mid_run(env)

    after_kill = _run(env, "check")
    assert after_kill["runs"] == [["running", KILL_AFTER]]
    assert after_kill["composted_wallets"] == KILL_AFTER * CHUNK

    time.sleep(1.2)  # let the dead worker's lease (1 s) expire
    assert _run(env, "compost", str(CHUNK), "1") == {"status": "completed", "resumed": True}

    final = _run(env, "check")
    assert final["audit_ok"], final["audit"]
    assert final["composted_wallets"] == ELIGIBLE and final["max_per_wallet"] == 1
    assert final["runs"] == [["completed", ELIGIBLE // CHUNK]]


@pytest.mark.skipif(settings.DB_VENDOR != "sqlite", reason="the SQLite variant")
def test_sigkill_mid_compost_then_rerun_on_a_sqlite_file(tmp_path):
    env = _worker_env(tmp_path / "kill.sqlite3")
    _run(env, "migrate")
    _kill_and_rerun(env)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(settings.DB_VENDOR != "postgres", reason="the PostgreSQL variant")
def test_sigkill_mid_compost_then_rerun_on_postgresql():
    _kill_and_rerun(_worker_env(connection.settings_dict["NAME"]))


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(settings.DB_VENDOR != "postgres", reason="the PostgreSQL variant")
def test_twenty_kills_at_random_chunks_in_a_row():
    """Twenty periods, each run killed at a random chunk and finished by a rerun: every
    eligible wallet composted exactly once per period, every run completed."""
    import random
    from datetime import timedelta

    from django.utils import timezone

    env = _worker_env(connection.settings_dict["NAME"])
    _run(env, "seed", str(ELIGIBLE), str(INELIGIBLE))
    rng = random.Random(int(os.environ.get("SAKA_KILL_SEED", "20")))
    chunks_per_run = ELIGIBLE // CHUNK
    first_period = timezone.now() - timedelta(days=91 * 21)
    for round_number in range(20):
        as_of = (first_period + timedelta(days=91 * round_number)).isoformat()
        kill_after = rng.randint(1, chunks_per_run - 1)
        paused = {**env, "SAKA_TEST_PAUSE_AFTER_CHUNK": str(kill_after)}
        worker = subprocess.Popen(
            [sys.executable, "-m", "tests.cycle_worker", "compost", str(CHUNK), "1", as_of],
            env=paused,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while _run(env, "check")["runs"][-1:] != [["running", kill_after]]:
            assert worker.poll() is None and time.monotonic() < deadline, worker.communicate()
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        time.sleep(1.2)  # the dead worker's 1 s lease expires
        rerun = _run(env, "compost", str(CHUNK), "1", as_of)
        assert rerun["resumed"], (round_number, kill_after, rerun, _run(env, "check"))
        state = _run(env, "check")
        assert state["runs"][-1] == ["completed", chunks_per_run], round_number
        assert state["composted_per_run"][-1] == ELIGIBLE, round_number
        assert state["max_per_wallet"] == round_number + 1 and state["audit_ok"]
    assert len(state["runs"]) == 20
