"""On PostgreSQL the database refuses to change the ledger, even from raw SQL."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from django_saka import services
from django_saka.models import Transaction
from tests.factories import seed_wallets

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL trigger"),
    pytest.mark.django_db(transaction=True),
]

LEDGER = Transaction._meta.db_table


def _raw(sql, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, list(params))


def _trigger_names():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal",
            [LEDGER],
        )
        return sorted(row[0] for row in cursor.fetchall())


def test_raw_update_and_delete_are_refused(user):
    row = services.harvest(user, "content_read")
    for sql in (
        f"UPDATE {LEDGER} SET amount = 1000 WHERE id = %s",
        f"UPDATE {LEDGER} SET reason = 'poll_vote' WHERE id = %s",
        f"DELETE FROM {LEDGER} WHERE id = %s",
    ):
        with pytest.raises(IntegrityError, match="append-only"):
            _raw(sql, [row.pk])
    assert Transaction.objects.get(pk=row.pk).amount == 10


def test_nulling_the_user_of_a_living_user_is_refused_at_commit(user):
    row = services.harvest(user, "content_read")
    with pytest.raises(IntegrityError, match="still exists"):
        _raw(f"UPDATE {LEDGER} SET user_id = NULL WHERE id = %s", [row.pk])
    assert Transaction.objects.get(pk=row.pk).user_id == user.pk


def test_deleting_a_user_still_works(make_user):
    alice = make_user("alice")
    services.harvest(alice, "manual_adjust", amount=100)
    services.spend(alice, 30, "plant")
    alice.delete()
    assert Transaction.objects.filter(user__isnull=True).count() == 3
    assert services.get_silo().total_closed == 70


@pytest.mark.corrupts_ledger
def test_the_audit_finds_a_row_removed_behind_the_triggers_back():
    (wallet,) = seed_wallets([100])
    services.harvest(wallet.user, "content_read")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")  # triggers off
        cursor.execute(
            f"DELETE FROM {LEDGER} WHERE user_id = %s AND reason = 'content_read'",
            [wallet.user_id],
        )
    report = services.audit_ledger()
    found = {(d.check, d.subject, d.expected, d.found) for d in report.discrepancies}
    assert ("wallet", f"user {wallet.user_id} balance", 100, 110) in found
    assert ("wallet", f"user {wallet.user_id} total_harvested", 100, 110) in found


def test_the_migration_is_reversible():
    installed = [
        "saka_ledger_no_delete",
        "saka_ledger_no_update",
        "saka_ledger_user_deleted",
        "saka_ledger_user_exists",
    ]
    assert _trigger_names() == installed
    call_command("migrate", "django_saka", "0002", verbosity=0)
    try:
        assert _trigger_names() == []
    finally:
        call_command("migrate", "django_saka", verbosity=0)
    assert _trigger_names() == installed
