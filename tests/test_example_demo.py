"""The example project's demo keeps working (a small run of the README's demo)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

import django_saka

EXAMPLE = Path(__file__).resolve().parent.parent / "example"

pytestmark = pytest.mark.skipif(
    settings.DB_VENDOR != "sqlite", reason="the demo runs on SQLite; one database is enough"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> subprocess.CompletedProcess[str]:
    """One small run of the demo, shared by the tests of this module."""
    # The demo imports the django_saka these tests import, not whichever one is installed.
    checkout = str(Path(django_saka.__file__).resolve().parent.parent)
    pythonpath = os.pathsep.join(filter(None, [checkout, os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "SAKA_EXAMPLE_SQLITE": str(tmp_path_factory.mktemp("demo") / "demo.sqlite3"),
        "PYTHONPATH": pythonpath,
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    return subprocess.run(
        [*manage, "run_demo", "--members", "3000", "--sample", "20", "--days", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_demo_runs_and_ends_with_a_clean_audit(demo):
    result = demo
    assert result.returncode == 0, result.stderr
    assert "ledger OK: 3000 wallets" in result.stdout
    assert "members" in result.stdout and "planted on Community garden" in result.stdout
    assert "Compost the wallets inactive for 90 days" in result.stdout
    assert "Redistribute half of the silo to the members active in the last 90 days" in (
        result.stdout
    )


def _figure(stdout: str, label: str) -> int:
    match = re.search(rf"^    {re.escape(label)} +([\d,]+)$", stdout, re.MULTILINE)
    assert match, f"no line {label!r} in:\n{stdout}"
    return int(match.group(1).replace(",", ""))


def test_demo_summary_follows_the_redistribution_rule(demo):
    """Seeded member n last acted n % 120 days ago, and every 250th is deactivated: the
    active ones (within 90 days, not deactivated) are credited, the idle ones composted
    and not credited, and no one is both."""
    assert demo.returncode == 0, demo.stderr
    out = demo.stdout
    members = _figure(out, "members")
    active = _figure(out, "members active (last 90 days)")
    credited = _figure(out, "members credited")
    composted_only = _figure(out, "idle, composted, not credited")
    assert _figure(out, "composted and credited") == 0
    assert _figure(out, "deactivated accounts") == members // 250
    # About three quarters acted within 90 days (the sample of 20 adds a few).
    assert 0.70 * members < active < 0.80 * members
    assert credited == active
    assert composted_only == _figure(out, "wallets affected")  # the compost's, printed first
    assert 0.15 * members < composted_only < 0.25 * members
    assert active + composted_only < members
