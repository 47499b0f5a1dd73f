"""A custom user model whose primary-key column is not ``id`` migrates and works."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fresh_database(tmp_path, django_db_blocker):
    """An empty database for the worker: a SQLite file, or a new server database."""
    if settings.DB_VENDOR == "sqlite":
        yield str(tmp_path / "custom_user.sqlite3")
        return
    name = f"{settings.DATABASES['default']['TEST']['NAME']}_custom_user"
    quoted = connection.ops.quote_name(name)
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
            cursor.execute(f"CREATE DATABASE {quoted}")
        try:
            yield name
        finally:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")


def test_a_season_with_a_user_model_keyed_by_member_key(fresh_database):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_custom_user",
        "SAKA_TEST_DB_NAME": fresh_database,
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-m", "tests.custom_user_worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["audit_ok"], summary["audit"]
    # the two idle members are composted; of the two recent ones, only the one whose
    # user is active (is_active) is paid
    assert (summary["composted"], summary["credited"]) == (2, 1)
    assert summary["closed"] == 1 and summary["orphan_rows"] >= 1
