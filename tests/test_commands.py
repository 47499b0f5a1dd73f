"""The saka_* commands: thin wrappers with clear output and honest exit codes."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_saka import services
from django_saka.models import CycleRun, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timezone.now() - timedelta(days=365)


def _call(name, *args):
    out, err = StringIO(), StringIO()
    call_command(name, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_saka_compost_logs_progress_and_prints_a_summary():
    seed_wallets([100] * 25, last_activity_at=LONG_AGO)
    out, _ = _call("saka_compost", "--chunk-size", "2", "--log-every", "5")
    assert "Starting compost run" in out and "25 planned" in out
    assert "chunk 5: 10 / 25 wallets" in out and "chunk 10: 20 / 25 wallets" in out
    assert "compost completed" in out and "wallets affected  25" in out
    assert services.get_silo().balance == 250


def test_saka_compost_dry_run_and_back_fill():
    now = timezone.now()
    seed_wallets([100], last_activity_at=now - timedelta(days=100))
    out, _ = _call("saka_compost", "--dry-run")
    assert "compost dry_run" in out and not Transaction.objects.filter(reason="compost").exists()
    out, _ = _call("saka_compost", "--now", (now - timedelta(days=20)).isoformat())
    assert "no_eligible_wallets" in out


def test_saka_redistribute_with_rate():
    seed_wallets([1000], last_activity_at=LONG_AGO)[0].user.delete()
    seed_wallets([10, 10], last_activity_at=timezone.now())
    out, _ = _call("saka_redistribute", "--rate", "0.5")
    assert "per wallet" in out and "250" in out
    assert services.get_silo().balance == 500


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["saka_compost", "--chunk-size", "0"], "--chunk-size must be at least 1"),
        (["saka_compost", "--chunk-size", "-5"], "--chunk-size must be at least 1"),
        (["saka_compost", "--now", "yesterday"], "ISO 8601"),
        (["saka_compost", "--now", "2024-13-01T00:00"], "ISO 8601"),
        (["saka_redistribute", "--rate", "1.01"], "would mint grains"),
        (["saka_redistribute", "--rate", "abc"], "between 0 and 1"),
        (["saka_redistribute", "--rate", "NaN"], "finite"),
        (["saka_audit", "--max-discrepancies", "0"], "at least 1"),
    ],
)
def test_bad_options_fail_with_a_clear_message_and_write_nothing(args, message):
    seed_wallets([100], last_activity_at=LONG_AGO)
    before = (Transaction.objects.count(), CycleRun.objects.count())
    with pytest.raises(CommandError, match=message):
        call_command(*args, stdout=StringIO())
    assert (Transaction.objects.count(), CycleRun.objects.count()) == before


def test_refused_when_already_running():
    CycleRun.objects.create(kind="compost", active_kind="compost")
    with pytest.raises(CommandError, match="Refused: A compost run"):
        call_command("saka_compost", stdout=StringIO())


@override_settings(SAKA={"REDISTRIBUTION": {"ENABLED": False}})
def test_disabled_exits_non_zero():
    with pytest.raises(CommandError, match="disabled"):
        call_command("saka_redistribute", stdout=StringIO())


def test_saka_audit_ok():
    seed_wallets([100, 200])
    out, _ = _call("saka_audit")
    assert "ledger OK: 2 wallets, 2 ledger rows" in out


@pytest.mark.corrupts_ledger
def test_saka_audit_names_the_wallet_and_exits_non_zero():
    (wallet,) = seed_wallets([100])
    table = connection.ops.quote_name(Wallet._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance = 93 WHERE id = %s", [wallet.pk])
    err = StringIO()
    with pytest.raises(CommandError, match="discrepancies"):
        call_command("saka_audit", stdout=StringIO(), stderr=err)
    assert f"user {wallet.user_id} balance: expected 100, found 93 (-7)" in err.getvalue()


def test_saka_status_shows_silo_and_runs():
    seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    services.compost()
    out, _ = _call("saka_status")
    assert "balance                     30" in out
    assert "compost" in out and "completed" in out and "3/3" in out


@override_settings(SAKA={"RUN_LEASE_SECONDS": 60})
def test_abandon_frees_a_dead_run_and_refuses_a_live_one():
    live = CycleRun.objects.create(kind="redistribution", active_kind="redistribution")
    with pytest.raises(CommandError, match="Refused: The redistribution run"):
        call_command("saka_redistribute", "--abandon", stdout=StringIO())
    CycleRun.objects.filter(pk=live.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    out, _ = _call("saka_redistribute", "--abandon")
    assert f"Abandoned redistribution run {live.pk}" in out
    live.refresh_from_db()
    assert (live.status, live.active_kind) == ("failed", None)
    out, _ = _call("saka_redistribute", "--abandon")
    assert "No unfinished redistribution run" in out
