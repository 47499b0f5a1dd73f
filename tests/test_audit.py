"""audit_ledger checks the invariants and names what is wrong."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
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


def _raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.format(wallet=connection.ops.quote_name(Wallet._meta.db_table)), params)


def _wallet_findings(report) -> set[tuple[str, int, int]]:
    return {(d.subject, d.expected, d.found) for d in report.discrepancies if d.check == "wallet"}


@pytest.mark.corrupts_ledger
def test_every_column_of_every_wallet_is_checked_against_its_own_rows(make_user):
    people = [make_user(f"u{index}") for index in range(4)]
    for person in people:
        services.harvest(person, "manual_adjust", amount=100)
        services.spend(person, 30, "plant")
    a, b, c = people[1], people[2], people[3]
    _raw("UPDATE {wallet} SET total_received = total_received + 3 WHERE user_id = %s", [a.pk])
    _raw("UPDATE {wallet} SET total_composted = 9 WHERE user_id = %s", [b.pk])
    # Two errors that cancel in the sum of all wallets: only the per-wallet check sees them.
    _raw("UPDATE {wallet} SET balance = balance + 5, total_spent = 0 WHERE user_id = %s", [c.pk])
    _raw("UPDATE {wallet} SET balance = balance - 5 WHERE user_id = %s", [people[0].pk])

    report = services.audit_ledger()

    assert _wallet_findings(report) == {
        (f"user {a.pk} total_received", 0, 3),
        (f"user {b.pk} total_composted", 0, 9),
        (f"user {c.pk} balance", 70, 75),
        (f"user {c.pk} total_spent", 30, 0),
        (f"user {people[0].pk} balance", 70, 65),
    }
    assert "conservation" not in {d.check for d in report.discrepancies}
    # Listed by user, then column, as they are found.
    subjects = [d.subject for d in report.discrepancies if d.check == "wallet"]
    assert subjects[0] == f"user {people[0].pk} balance"
    assert subjects[-1] == f"user {c.pk} total_spent"


@pytest.mark.corrupts_ledger
def test_ledger_rows_without_a_wallet_are_named_when_they_do_not_net_to_zero(make_user):
    kept, lost, even = make_user("kept"), make_user("lost"), make_user("even")
    for person in (kept, lost, even):
        services.harvest(person, "manual_adjust", amount=100)
    services.spend(even, 100, "plant")
    _raw("DELETE FROM {wallet} WHERE user_id IN (%s, %s)", [lost.pk, even.pk])

    report = services.audit_ledger()

    assert _wallet_findings(report) == {(f"user {lost.pk} has ledger rows but no wallet", 0, 100)}
    assert report.wallets_checked == 1


@pytest.mark.corrupts_ledger
def test_a_wallet_without_ledger_rows_is_named(make_user):
    person = make_user("ghost")
    Wallet.objects.create(user=person, balance=5, total_harvested=5)

    report = services.audit_ledger()

    assert _wallet_findings(report) == {
        (f"user {person.pk} balance", 0, 5),
        (f"user {person.pk} total_harvested", 0, 5),
    }


@pytest.mark.corrupts_ledger
def test_ledger_rows_naming_a_user_who_no_longer_exists_are_named(make_user):
    """Deleting a user behind Django's back (raw SQL, wallet first) leaves ledger rows
    that name nobody: the ledger's user column has no foreign key on PostgreSQL and
    SQLite, so the audit is what finds them, even when they net to zero."""
    gone, kept = make_user("gone"), make_user("kept")
    for person in (gone, kept):
        services.harvest(person, "manual_adjust", amount=100)
    services.spend(gone, 100, "plant")
    user_table = connection.ops.quote_name(get_user_model()._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "mysql":  # its foreign key would refuse the delete
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
        try:
            _raw("DELETE FROM {wallet} WHERE user_id = %s", [gone.pk])
            cursor.execute(f"DELETE FROM {user_table} WHERE id = %s", [gone.pk])
        finally:
            if connection.vendor == "mysql":
                cursor.execute("SET FOREIGN_KEY_CHECKS = 1")

    report = services.audit_ledger()

    found = {(d.check, d.subject, d.expected, d.found) for d in report.discrepancies}
    assert found == {("users", f"user {gone.pk} does not exist; ledger rows naming them", 0, 2)}
