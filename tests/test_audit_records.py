"""Every audit run by the command, the scheduled task or the admin leaves a record."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError

from django_saka import services, tasks
from django_saka.exceptions import LedgerAuditFailed
from django_saka.models import AuditRecord, Wallet
from django_saka.services import audit
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db


def test_an_audit_is_not_recorded_unless_asked():
    services.audit_ledger()
    assert not AuditRecord.objects.exists()


def test_a_clean_audit_is_recorded_as_ok_with_its_figures():
    seed_wallets([10, 20])

    report = services.audit_ledger(record=True, source="admin")

    record = AuditRecord.objects.get()
    assert report.record_id == record.pk
    assert (record.status, record.source) == ("ok", "admin")
    assert (record.wallets_checked, record.ledger_rows) == (2, 2)
    assert (record.discrepancy_count, record.discrepancies, record.truncated) == (0, [], False)
    assert record.finished_at >= record.created
    assert record.duration_seconds >= 0
    assert record.status_changed >= record.created  # model-utils' MonitorField


@pytest.mark.corrupts_ledger
def test_a_broken_ledger_is_recorded_with_its_discrepancies():
    wallet = seed_wallets([10])[0]
    Wallet.objects.filter(pk=wallet.pk).update(balance=11)

    services.audit_ledger(record=True, max_discrepancies=1)

    record = AuditRecord.objects.get()
    assert record.status == "broken"
    assert record.discrepancy_count == 1
    assert record.truncated
    assert record.discrepancies[0]["check"] == "conservation"
    assert record.discrepancies[0]["expected"] == 10
    assert record.discrepancies[0]["found"] == 11


@pytest.mark.django_db(transaction=True)  # as in production: the audit's own transaction
def test_an_audit_that_raises_is_recorded_as_failed(monkeypatch):
    # A real database error: the ledger totals statement names a missing table.
    with monkeypatch.context() as patch:
        patch.setattr(audit, "_LEDGER_TOTALS", "SELECT * FROM saka_no_such_table")
        with pytest.raises(DatabaseError):
            services.audit_ledger(record=True)

    record = AuditRecord.objects.get()
    assert record.status == "failed"
    assert "saka_no_such_table" in record.error
    assert record.finished_at is not None


def test_the_command_records_its_audit():
    call_command("saka_audit", verbosity=0)
    assert AuditRecord.objects.get().source == "command"


@pytest.mark.corrupts_ledger
def test_the_command_records_a_broken_audit_before_failing():
    wallet = seed_wallets([10])[0]
    Wallet.objects.filter(pk=wallet.pk).update(balance=0)
    with pytest.raises(CommandError):
        call_command("saka_audit", verbosity=0)
    assert AuditRecord.objects.get().status == "broken"


def test_the_scheduled_task_records_its_audit():
    result = tasks.audit()
    record = AuditRecord.objects.get()
    assert (record.source, record.status) == ("schedule", "ok")
    assert result["record_id"] == record.pk


@pytest.mark.corrupts_ledger
def test_the_scheduled_task_records_a_broken_audit_and_raises():
    wallet = seed_wallets([10])[0]
    Wallet.objects.filter(pk=wallet.pk).update(balance=0)
    with pytest.raises(LedgerAuditFailed):
        tasks.audit()
    assert AuditRecord.objects.get().status == "broken"
