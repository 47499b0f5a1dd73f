"""The ledger's user column without a Django foreign key: every backend still refuses
a row that names a user who does not exist, and the cheaper indexes keep their rules."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from django_saka import services
from django_saka.models import Transaction

pytestmark = pytest.mark.django_db(transaction=True)

LEDGER = Transaction._meta.db_table
INSERT = (
    f"INSERT INTO {LEDGER} (user_id, direction, amount, reason, metadata, created_at)"
    " VALUES (%s, 'earn', 5, 'manual_adjust', '{}', %s)"
)


def _missing_user_id() -> int:
    return (get_user_model().objects.aggregate(top=Max("pk"))["top"] or 0) + 1000


def _raw_insert(*user_ids: int | None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        for user_id in user_ids:
            cursor.execute(INSERT, [user_id, timezone.now()])


@pytest.mark.corrupts_ledger  # the accepted raw row explains no balance
def test_a_raw_row_naming_an_existing_user_or_none_is_accepted(user):
    _raw_insert(user.pk, None)
    assert Transaction.objects.filter(reason="manual_adjust").count() == 2


def test_a_raw_row_naming_a_missing_user_is_refused(user):
    with pytest.raises(IntegrityError):
        _raw_insert(_missing_user_id())
    assert not Transaction.objects.exists()


def test_one_bad_row_refuses_the_whole_statement(user):
    # A cycle chunk inserts its rows in one statement: one missing user refuses all.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LEDGER} (user_id, direction, amount, reason, metadata, created_at)"
            " VALUES (%s, 'earn', 5, 'manual_adjust', '{}', %s),"
            " (%s, 'earn', 5, 'manual_adjust', '{}', %s)",
            [user.pk, timezone.now(), _missing_user_id(), timezone.now()],
        )
    assert not Transaction.objects.exists()


def test_the_idempotency_key_and_the_run_still_refuse_a_second_row(user):
    services.harvest(user, "content_read", idempotency_key="k1")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LEDGER} (user_id, direction, amount, reason, metadata, created_at,"
            " idempotency_key) VALUES (%s, 'earn', 5, 'content_read', '{}', %s, 'k1')",
            [user.pk, timezone.now()],
        )
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        for _ in range(2):
            cursor.execute(
                f"INSERT INTO {LEDGER} (user_id, direction, amount, reason, metadata,"
                " created_at, run_id) VALUES (%s, 'earn', 5, 'redistribution', '{}', %s, 77)",
                [user.pk, timezone.now()],
            )
    # Rows without a key or a run never collide.
    services.harvest(user, "content_read")
    services.harvest(user, "content_read")
    assert Transaction.objects.filter(user=user).count() == 3


@pytest.mark.skipif(connection.vendor != "postgresql", reason="partial indexes: PostgreSQL")
def test_postgresql_indexes_only_the_rows_that_can_collide():
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [LEDGER])
        definitions = dict(cursor.fetchall())
    assert "saka_tx_daily_idx" not in definitions
    assert definitions["saka_tx_user_idempotency_uniq"].endswith(
        "WHERE (idempotency_key IS NOT NULL)"
    )
    assert definitions["saka_tx_run_user_uniq"].endswith("WHERE (run_id IS NOT NULL)")


def _user_check_present() -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT 1 FROM pg_trigger WHERE tgname = 'saka_ledger_user_exists'")
        elif connection.vendor == "sqlite":
            cursor.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'trigger'"
                " AND name = 'saka_ledger_user_exists'"
            )
        else:
            cursor.execute(
                "SELECT 1 FROM information_schema.table_constraints WHERE table_schema ="
                " DATABASE() AND constraint_name = 'saka_tx_user_fk'"
            )
        return cursor.fetchone() is not None


def test_the_migrations_are_reversible(user):
    assert _user_check_present()
    call_command("migrate", "django_saka", "0008", verbosity=0)
    try:
        assert not _user_check_present()
        with pytest.raises(IntegrityError):  # the foreign key Django made is back
            _raw_insert(_missing_user_id())
    finally:
        call_command("migrate", "django_saka", verbosity=0)
    assert _user_check_present()
    if connection.vendor == "postgresql":
        test_postgresql_indexes_only_the_rows_that_can_collide()
