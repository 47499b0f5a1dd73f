"""The example project's demo keeps working (a small run of the README's demo)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

EXAMPLE = Path(__file__).resolve().parent.parent / "example"

pytestmark = pytest.mark.skipif(
    settings.DB_VENDOR != "sqlite", reason="the demo runs on SQLite; one database is enough"
)


def test_demo_runs_and_ends_with_a_clean_audit(tmp_path):
    env = {**os.environ, "SAKA_EXAMPLE_SQLITE": str(tmp_path / "demo.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    result = subprocess.run(
        [*manage, "run_demo", "--members", "3000", "--sample", "20", "--days", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "ledger OK: 3000 wallets" in result.stdout
    assert "members" in result.stdout and "planted on Community garden" in result.stdout
    assert "Compost the wallets inactive for 90 days" in result.stdout
    assert "Redistribute half of the silo" in result.stdout
