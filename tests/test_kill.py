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
    env.pop("DJANGO_SAKA_PAUSE_AFTER_CHUNK", None)
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
    paused = {**env, "DJANGO_SAKA_PAUSE_AFTER_CHUNK": str(KILL_AFTER)}
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
