"""The storm: 16 processes x 300 mixed operations on 1,000 wallets (a fifth of the traffic
on 10 hot wallets) while compost and redistribution run again and again."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.models import Transaction
from tests.factories import seed_wallets
from tests.storm_worker import STORM_SETTINGS

pytestmark = [pytest.mark.server_db, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = int(os.environ.get("SAKA_STORM_PROCESSES", "16"))
OPERATIONS = int(os.environ.get("SAKA_STORM_OPERATIONS", "300"))
WALLETS = 1000


def _cycles_until(stop: threading.Event, errors: list, counts: dict) -> None:
    step = 0
    try:
        with override_settings(SAKA=STORM_SETTINGS):
            while not stop.is_set():
                step += 1
                # back-dated periods, so wallets untouched by the storm compost again
                as_of = timezone.now() - timedelta(days=91 * (1000 - step))
                services.compost(now=as_of, chunk_size=50)
                services.redistribute(chunk_size=100)
                counts["cycles"] += 1
    except Exception as error:
        errors.append(repr(error))
    finally:
        connection.close()


def test_the_storm_loses_nothing(tmp_path):
    seed = int(os.environ.get("SAKA_STORM_SEED", random.randrange(10**6)))
    wallets = seed_wallets([200] * WALLETS, reason="manual_adjust")
    seed_wallets([50_000], reason="manual_adjust")[0].user.delete()  # grains in the silo
    users_file = tmp_path / "users.json"
    users_file.write_text(json.dumps([w.user_id for w in wallets]))
    env = {
        **os.environ,
        "SAKA_TEST_DB_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": str(ROOT),
    }
    before = Transaction.objects.filter(reason__in=["tick", "plant"]).count()

    stop, cycle_errors, counts = threading.Event(), [], {"cycles": 0}
    cycles = threading.Thread(target=_cycles_until, args=(stop, cycle_errors, counts))
    cycles.start()
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.storm_worker",
                str(seed),
                str(index),
                str(OPERATIONS),
                str(users_file),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index in range(PROCESSES)
    ]
    summaries = []
    try:
        for worker in workers:
            out, err = worker.communicate(timeout=600)
            assert worker.returncode == 0, f"seed {seed}: {err}"
            summaries.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        stop.set()
        cycles.join()

    replay = f"replay with SAKA_STORM_SEED={seed}"
    errors = [e for s in summaries for e in s["errors"]] + cycle_errors
    assert not errors, f"{replay}: {errors[:5]}"
    acknowledged = sum(s["acknowledged"] for s in summaries)
    written = Transaction.objects.filter(reason__in=["tick", "plant"]).count() - before
    assert written == acknowledged, replay
    assert counts["cycles"] >= 1, replay
    assert sum(s["retries"] for s in summaries) > 0
    print(
        f"storm seed {seed}: {PROCESSES} processes, {acknowledged} writes acknowledged, "
        f"{sum(s['retries'] for s in summaries)} retries answered, "
        f"{sum(s['insufficient'] for s in summaries)} refused, {counts['cycles']} cycle pairs"
    )
    # every ledger invariant is checked by the autouse fixture after this test
