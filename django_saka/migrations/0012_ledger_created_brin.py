"""A BRIN index on the ledger's ``created_at``, on PostgreSQL only.

``services.season_summary()`` reads the ledger rows of one period. The ledger is
append-only and rows are written at (about) the time they carry, so their dates follow
their physical order: a BRIN index (the date range of each block of pages) finds a
season's rows for a few kilobytes of index and almost no cost per inserted row, where
a B-tree on ``created_at`` would cost an index entry per row on every harvest and
cycle chunk. MariaDB and SQLite have no such index; there a summary reads the ledger.

Built ``CONCURRENTLY`` (writes go on while it builds), so this migration is not atomic.
"""

from django.db import migrations

INDEX = "saka_tx_created_brin"


def create_brin(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    ledger = schema_editor.quote_name(apps.get_model("django_saka", "Transaction")._meta.db_table)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " WHERE c.relname = %s",
            [INDEX],
        )
        found = cursor.fetchone()
    if found is not None and not found[0]:
        # An interrupted CONCURRENTLY build leaves an invalid index: build it again.
        schema_editor.execute(f"DROP INDEX CONCURRENTLY {INDEX}")
    schema_editor.execute(
        f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {INDEX} ON {ledger} USING brin (created_at)"
    )


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    # CREATE/DROP INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [("django_saka", "0011_seasons_audit_records")]

    operations = [migrations.RunPython(create_brin, drop_brin, elidable=False)]
