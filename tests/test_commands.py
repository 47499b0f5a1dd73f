"""The saka_* commands: thin wrappers with clear output and honest exit codes."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from django_saka import services, signals
from django_saka.models import CycleRun, CycleShard, Transaction, Wallet
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
    assert all(re.match(STAMP, line) for line in err.getvalue().splitlines())


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


STAMP = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d "


class FakeTerminal(StringIO):
    def isatty(self):
        return True


def _dead_run(kind="compost", **fields):
    return CycleRun.objects.create(
        kind=kind,
        active_kind=kind,
        heartbeat_at=timezone.now() - timedelta(minutes=5, seconds=3),
        **fields,
    )


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["saka_compost", "--abandon", "--dry-run"], "--dry-run"),
        (["saka_compost", "--abandon", "--now", "2026-01-01T00:00"], "--now"),
        (["saka_compost", "--abandon", "--chunk-size", "5"], "--chunk-size"),
        (["saka_redistribute", "--abandon", "--rate", "0.5"], "--rate"),
        (["saka_redistribute", "--abandon", "--dry-run", "--rate", "0.5"], "--dry-run, --rate"),
    ],
)
@override_settings(SAKA={"RUN_LEASE_SECONDS": 60})
def test_abandon_with_an_option_of_a_run_is_refused_and_changes_nothing(args, named):
    run = _dead_run("compost" if args[0] == "saka_compost" else "redistribution")
    with pytest.raises(CommandError, match=f"--abandon cannot be combined with {named}: "):
        call_command(*args, stdout=StringIO())
    run.refresh_from_db()
    assert (run.status, run.active_kind, run.error) == ("running", run.kind, "")
    assert CycleRun.objects.count() == 1


@override_settings(SAKA={"RUN_LEASE_SECONDS": 60})
def test_abandon_accepts_output_options():
    run = _dead_run()
    out, _ = _call("saka_compost", "--abandon", "--log-every", "5", "-v", "2")
    assert f"Abandoned compost run {run.pk}" in out


@override_settings(SAKA={"RUN_LEASE_SECONDS": 120})
def test_saka_status_tells_a_dead_run_from_a_live_one_and_what_to_do():
    dead = _dead_run(planned_wallets=40, wallets_done=12)
    live = CycleRun.objects.create(kind="redistribution", active_kind="redistribution")
    out, _ = _call("saka_status")
    assert f"compost run {dead.pk} (running)" in out
    assert "progress        12/40 wallets" in out
    assert "(5 min 3 s ago)" in out
    assert "dead (no heartbeat for more than RUN_LEASE_SECONDS = 120 s)" in out
    assert "next start      resumes it where it stopped" in out
    assert "take over now   manage.py saka_compost\n" in out
    assert "give it up      manage.py saka_compost --abandon" in out
    assert f"redistribution run {live.pk} (running)" in out
    assert "alive (lease RUN_LEASE_SECONDS = 120 s)" in out
    assert re.search(r"considered dead in (2 min|1 min 5\d s) without a heartbeat", out)


class WorkerDied(BaseException):
    """Like SIGKILL: nothing in the run's code catches it, so the run stays "running"."""


def _die_after_first_chunk(**kwargs):
    raise WorkerDied


@override_settings(SAKA={"RUN_LEASE_SECONDS": 120})
def test_the_command_saka_status_names_resumes_the_dead_run():
    seed_wallets([100] * 5, last_activity_at=LONG_AGO)
    signals.cycle_chunk_done.connect(_die_after_first_chunk)
    try:
        with pytest.raises(WorkerDied):
            services.compost(chunk_size=2)
    finally:
        signals.cycle_chunk_done.disconnect(_die_after_first_chunk)
    run = CycleRun.objects.get()
    two_hours_ago = timezone.now() - timedelta(hours=2)
    CycleRun.objects.filter(pk=run.pk).update(heartbeat_at=two_hours_ago)
    CycleShard.objects.filter(run=run).update(heartbeat_at=two_hours_ago)
    out, _ = _call("saka_status")
    assert "progress        2/5 wallets" in out and "(2 h ago)" in out
    assert "take over now   manage.py saka_compost\n" in out
    out, _ = _call("saka_compost")  # what saka_status said to run
    assert f"Resuming compost run {run.pk}" in out and "compost completed" in out
    assert "wallets affected  5" in out
    out, _ = _call("saka_status")
    assert "Unfinished runs\n" in out and "  none\n" in out


@override_settings(SAKA={"RUN_LEASE_SECONDS": 60})
def test_saka_status_shows_why_a_failed_run_failed():
    _dead_run(status="failed", error="OperationalError('server closed the connection')\nmore")
    out, _ = _call("saka_status")
    assert "state           failed: OperationalError('server closed the connection')\n" in out
    assert "give it up      manage.py saka_compost --abandon" in out


def test_saka_status_without_unfinished_runs_or_history():
    out, _ = _call("saka_status")
    assert "Unfinished runs\n" in out and "  none\n" in out
    assert "Runs\n" in out and "  no runs yet" in out


def test_saka_status_runs_0_leaves_the_list_out():
    seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    services.compost()
    out, _ = _call("saka_status", "--runs", "0")
    assert "Silo" in out and "Unfinished runs" in out
    assert "Runs\n" not in out and "no runs yet" not in out and "completed" not in out


def test_saka_status_columns_stay_aligned_whatever_the_status():
    CycleRun.objects.create(
        kind="redistribution", status="completed", skip_reason="no_eligible_wallets"
    )
    CycleRun.objects.create(
        kind="compost",
        status="completed",
        planned_wallets=1_234_567,
        wallets_done=1_234_567,
        grains_done=98_765_432,
    )
    terminal = FakeTerminal()  # no timestamps, which would only shift every line alike
    call_command("saka_status", stdout=terminal)
    out = terminal.getvalue()
    table = out.split("Runs\n", 1)[1].splitlines()
    assert len(table) == 3 and "completed (no_eligible_wallets)" in out
    # Cells are separated by at least two spaces; one space may occur inside a cell.
    cells = [[m.span() for m in re.finditer(r"\S+(?: \S+)*", line)] for line in table]
    assert {len(row) for row in cells} == {6}
    right_aligned = {0, 3, 4}  # id, wallets, grains
    for column in range(6):
        edge = 1 if column in right_aligned else 0
        assert len({row[column][edge] for row in cells}) == 1, (column, table)


@pytest.mark.parametrize(
    "args",
    [
        ["saka_compost", "--chunk-size", "2", "--log-every", "1"],
        ["saka_compost", "--dry-run"],
        ["saka_redistribute"],
        ["saka_compost", "--abandon"],
        ["saka_audit"],
        ["saka_status"],
    ],
)
def test_every_line_written_off_a_terminal_starts_with_the_local_time(args):
    seed_wallets([100] * 5, last_activity_at=LONG_AGO)
    out, _ = _call(*args)
    lines = out.splitlines()
    assert len(lines) >= 1
    assert all(re.match(STAMP, line) for line in lines), out


def test_on_a_terminal_lines_carry_no_timestamp_and_progress_is_a_bar():
    seed_wallets([100] * 5, last_activity_at=LONG_AGO)
    terminal = FakeTerminal()
    call_command("saka_compost", "--chunk-size", "2", stdout=terminal)
    out = terminal.getvalue()
    assert "\r[" in out and "5 / 5 wallets" in out and "compost completed" in out
    assert not any(re.match(STAMP, line) for line in out.splitlines())


@override_settings(TIME_ZONE="America/New_York")
def test_times_are_printed_in_the_projects_time_zone_without_microseconds():
    from zoneinfo import ZoneInfo

    seed_wallets([100] * 3, last_activity_at=LONG_AGO)
    out, _ = _call("saka_compost")
    silo = services.get_silo()
    out += _call("saka_status")[0]
    local = silo.last_compost_at.astimezone(ZoneInfo("America/New_York"))
    assert local.isoformat(sep=" ", timespec="seconds") in out  # last compost, run started
    cutoff = CycleRun.objects.get().cutoff.astimezone(ZoneInfo("America/New_York"))
    assert f"inactive since    {cutoff.isoformat(sep=' ', timespec='seconds')}" in out
    assert re.search(r"[-+]0[45]:00", out) and "+00:00" not in out
    assert not re.search(r"\d\d:\d\d:\d\d\.\d", out)  # no microseconds anywhere
