"""On MariaDB and MySQL, ledger reasons and idempotency keys compare as exact strings.

Those servers compare text with the column's collation, by default a case- and
accent-insensitive one that also ignores trailing spaces (``utf8mb4_general_ci``,
PAD SPACE): "Order-1", "order-1" and "order-1 " would be one idempotency key, and
"Compost" one reason with "compost". This migration gives the two columns the binary
collation of their character set that does not pad (``utf8mb4_nopad_bin`` on MariaDB,
``utf8mb4_0900_bin`` on MySQL 8), so they compare as PostgreSQL and SQLite compare
them. ``utf8mb4_bin`` would not do: it is PAD SPACE, "order-1 " still equals "order-1".

PostgreSQL and SQLite compare exactly already: the migration does nothing there. It
is reversible; going back fails if the ledger holds two keys of one user that the
insensitive collation finds equal. Django does not know about this collation: an
``AlterField`` on either column in a later migration must set it again.
"""

from django.db import migrations

COLUMNS = ("reason", "idempotency_key")


def _binary_collation(cursor, charset):
    """The no-pad binary collation of ``charset``, else its PAD SPACE ``_bin`` one (only
    MySQL's utf8mb3 lacks a no-pad one; trailing spaces are then ignored in comparisons)."""
    candidates = [f"{charset}_nopad_bin", f"{charset}_0900_bin", f"{charset}_bin"]
    cursor.execute(
        "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN "
        f"({', '.join(['%s'] * len(candidates))})",
        candidates,
    )
    available = {row[0] for row in cursor.fetchall()}
    return next(name for name in candidates if name in available)


def _column_charset(cursor, table, column):
    cursor.execute(
        "SELECT CHARACTER_SET_NAME FROM information_schema.COLUMNS"
        " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s",
        [table, column],
    )
    return cursor.fetchone()[0]


def _modify(apps, schema_editor, collate):
    """One ALTER TABLE (one table rebuild) re-declaring both columns; ``collate(charset)``
    gives the COLLATE clause, or "" for the table's default."""
    ledger = apps.get_model("django_saka", "Transaction")
    table = ledger._meta.db_table
    connection = schema_editor.connection
    clauses = []
    with connection.cursor() as cursor:
        for name in COLUMNS:
            field = ledger._meta.get_field(name)
            charset = _column_charset(cursor, table, field.column)
            clauses.append(
                f"MODIFY {schema_editor.quote_name(field.column)} {field.db_type(connection)}"
                f"{collate(cursor, charset)} {'NULL' if field.null else 'NOT NULL'}"
            )
    schema_editor.execute(f"ALTER TABLE {schema_editor.quote_name(table)} {', '.join(clauses)}")


def exact(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    _modify(
        apps,
        schema_editor,
        lambda cursor, charset: (
            f" CHARACTER SET {charset} COLLATE {_binary_collation(cursor, charset)}"
        ),
    )


def table_default(apps, schema_editor):
    if schema_editor.connection.vendor != "mysql":
        return
    # Without a CHARACTER SET or COLLATE clause, a column takes the table's defaults,
    # which is how Django created it.
    _modify(apps, schema_editor, lambda cursor, charset: "")


class Migration(migrations.Migration):
    dependencies = [("django_saka", "0005_ledger_trigger_user_key")]

    # atomic=False: MariaDB/MySQL cannot roll DDL back, and Django refuses DDL inside a
    # transaction there.
    operations = [migrations.RunPython(exact, table_default, atomic=False, elidable=False)]
