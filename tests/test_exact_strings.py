"""Reasons and idempotency keys are exact strings on every backend: no case, accent or
trailing-space folding, and no member reason can pass for a system reason."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.state import ProjectState
from django.db.models import F
from django.test import override_settings

from django_saka import services
from django_saka.exceptions import UnknownReason
from django_saka.models import Transaction, Wallet

exact_migration = importlib.import_module("django_saka.migrations.0006_ledger_exact_string_columns")

pytestmark = pytest.mark.django_db

only_mariadb = pytest.mark.skipif(
    connection.vendor != "mysql", reason="collations are a MariaDB/MySQL matter"
)

LOOKALIKES = [
    "Compost",
    "compost ",
    " COMPOST",
    "compóst",
    "Redistribution",
    "redistribution\t",
    "ACCOUNT_CLOSED",
    "account-closed",
    "account closed",
]


@pytest.mark.parametrize(
    "keys",
    [["Order-1", "order-1", "order-1 "], ["été", "ete"], ["k", "K", " k", "k  "]],
    ids=["case-and-trailing-space", "accents", "case-and-spaces"],
)
def test_keys_differing_by_case_accent_or_space_are_distinct_actions(user, keys):
    rows = [services.harvest(user, "manual_adjust", amount=1, idempotency_key=k) for k in keys]
    assert len({row.pk for row in rows}) == len(keys)
    assert services.get_balance(user).balance == len(keys)
    # And each key still finds its own row on a retry.
    for key, row in zip(keys, rows, strict=True):
        assert services.harvest(user, "manual_adjust", amount=1, idempotency_key=key).pk == row.pk
    assert sorted(Transaction.objects.values_list("idempotency_key", flat=True)) == sorted(keys)


@pytest.mark.parametrize("reason", LOOKALIKES)
def test_a_spend_cannot_pass_for_a_system_move(user, reason):
    services.harvest(user, "manual_adjust", amount=10)
    with pytest.raises(UnknownReason, match="reserved"):
        services.spend(user, 1, reason)
    assert services.get_balance(user).balance == 10


@pytest.mark.parametrize("reason", LOOKALIKES)
def test_a_configured_reason_cannot_pass_for_a_system_move(reason):
    from django_saka.checks import check_saka_settings

    with override_settings(SAKA={"REASONS": {reason: {"reward": 1}}}):
        assert [error.id for error in check_saka_settings()] == ["django_saka.E009"]


def test_harvest_reasons_match_exactly(user):
    with pytest.raises(UnknownReason):
        services.harvest(user, "Content_Read")
    with pytest.raises(UnknownReason):
        services.harvest(user, "content_read ")
    assert not Wallet.objects.exists()


def test_spend_reasons_differing_by_case_are_kept_apart(user):
    services.harvest(user, "manual_adjust", amount=10)
    services.spend(user, 1, "Plant")
    services.spend(user, 2, "plant")
    spends = Transaction.objects.filter(direction="spend").values_list("reason", "amount")
    assert sorted(spends) == [("Plant", 1), ("plant", 2)]


def _column_collations():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS"
            " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s"
            " AND COLUMN_NAME IN ('reason', 'idempotency_key')",
            [Transaction._meta.db_table],
        )
        return dict(cursor.fetchall())


@only_mariadb
def test_the_tables_use_the_server_default_and_the_two_columns_a_binary_collation():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.DEFAULT_COLLATION_NAME, t.TABLE_COLLATION FROM information_schema.SCHEMATA s"
            " JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = s.SCHEMA_NAME"
            " WHERE s.SCHEMA_NAME = DATABASE() AND t.TABLE_NAME = %s",
            [Transaction._meta.db_table],
        )
        database_default, table_collation = cursor.fetchone()
        # The premise: the table uses the database's default, which folds case and pads.
        cursor.execute(f"SELECT 'Order-1' = 'order-1 ' COLLATE {table_collation}")
        assert cursor.fetchone()[0] == 1
    assert table_collation == database_default
    collations = _column_collations()
    assert set(collations) == {"reason", "idempotency_key"}
    for name in collations.values():
        assert name.endswith(("_nopad_bin", "_0900_bin")), collations


def _run_migration(function):
    state = ProjectState.from_apps(apps)
    with connection.schema_editor(atomic=False) as editor:
        function(state.apps, editor)


@only_mariadb
@pytest.mark.django_db(transaction=True)
def test_the_audit_does_not_depend_on_the_collation(user):
    """With the columns back on the server's insensitive collation (the migration
    reversed), a member's reason that differs from a system reason only by case is
    still counted as the member's own."""
    services.harvest(user, "manual_adjust", amount=100)
    _run_migration(exact_migration.table_default)
    try:
        assert not _column_collations()["reason"].endswith("_bin")
        # Written directly: the services refuse this reason, an older version did not.
        Transaction.objects.create(user=user, direction="spend", amount=7, reason="Compost ")
        Wallet.objects.filter(user=user).update(
            balance=F("balance") - 7, total_spent=F("total_spent") + 7
        )
        report = services.audit_ledger()
        assert report.ok, report
    finally:
        _run_migration(exact_migration.exact)
    assert _column_collations()["reason"].endswith(("_nopad_bin", "_0900_bin"))


def test_the_migration_does_nothing_elsewhere():
    if connection.vendor == "mysql":
        pytest.skip("MariaDB/MySQL is where it acts")
    # No app registry and no way to execute: the functions must return before both.
    editor = SimpleNamespace(connection=connection)
    exact_migration.exact(None, editor)
    exact_migration.table_default(None, editor)
