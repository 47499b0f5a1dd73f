"""audit_ledger checks the invariants and names what is wrong."""

from __future__ import annotations

import pytest
from django.db import connection

from django_saka import services
from django_saka.models import Silo, Wallet

pytestmark = pytest.mark.django_db


def test_clean_ledger_is_ok(make_user):
    for index in range(3):
        person = make_user(f"u{index}")
        services.harvest(person, "manual_adjust", amount=100)
        services.spend(person, 10 * index + 1, "plant")
    report = services.audit_ledger()
    assert report.ok and report.wallets_checked == 3 and report.ledger_rows == 6


@pytest.mark.corrupts_ledger
def test_balance_changed_behind_the_ledger_is_named(user):
    services.harvest(user, "manual_adjust", amount=100)
    table = connection.ops.quote_name(Wallet._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET balance = balance + 7")
    report = services.audit_ledger()
    assert not report.ok
    subjects = {(d.check, d.subject, d.expected, d.found) for d in report.discrepancies}
    assert ("wallet", f"user {user.pk} balance", 100, 107) in subjects
    assert ("conservation", "wallets + silo vs harvested - spent", 100, 107) in subjects
    assert "+7" in str(report)


@pytest.mark.corrupts_ledger
def test_silo_changed_behind_the_ledger_is_named(user):
    Silo.objects.filter(pk=1).update(balance=5)
    report = services.audit_ledger()
    assert ("silo", "silo balance", 0, 5) in {
        (d.check, d.subject, d.expected, d.found) for d in report.discrepancies
    }


@pytest.mark.corrupts_ledger
def test_discrepancies_are_capped(make_user):
    for index in range(5):
        services.harvest(make_user(f"u{index}"), "content_read")
    Wallet.objects.update(balance=1)
    report = services.audit_ledger(max_discrepancies=2)
    assert len(report.discrepancies) == 2 and report.truncated and not report.ok
