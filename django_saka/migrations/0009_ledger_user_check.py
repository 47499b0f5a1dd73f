"""The ledger's user column: checked per backend, not by a Django foreign key.

A PostgreSQL foreign key checks every inserted ledger row on its own and locks the
referenced user row (``FOR KEY SHARE``, a write to that row's header): 7 µs of the
21 µs a cycle pays per ledger row at 1,000,000 rows. What replaces it:

- PostgreSQL: one statement-level trigger that reads the statement's inserted rows
  (a transition table) and refuses the whole statement if any names a user that
  does not exist: one anti-join per chunk instead of a thousand row checks.
- MariaDB/MySQL: a foreign key, ``saka_tx_user_fk`` (InnoDB checks it with an index
  probe and an in-memory lock; no trigger, so no extra privilege is needed).
- SQLite: a ``BEFORE INSERT`` trigger doing the same check per row.

Deleting a user still sets their rows' user to NULL (Django's ``SET_NULL``, and on
PostgreSQL the deferred trigger of 0003 checks that the user really is gone). What a
foreign key also did and the triggers do not: refuse a raw-SQL ``DELETE`` of a user
whose ledger rows still name them (the wallet's own foreign key refuses it while the
wallet exists; ``saka_audit`` reports ledger rows whose user is gone).

On SQLite, Django rebuilds a table to drop a foreign key; the ledger has no other
trigger there, so nothing is lost.
"""

from django.conf import settings
from django.db import migrations, models

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION saka_ledger_users_exist() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM saka_inserted n WHERE n.user_id IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM {user_table} u WHERE u.{user_key} = n.user_id)) THEN
        RAISE EXCEPTION 'A SAKA ledger row must name an existing user'
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER saka_ledger_user_exists AFTER INSERT ON {ledger}
    REFERENCING NEW TABLE AS saka_inserted
    FOR EACH STATEMENT EXECUTE FUNCTION saka_ledger_users_exist();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS saka_ledger_user_exists ON {ledger};
DROP FUNCTION IF EXISTS saka_ledger_users_exist();
"""
MYSQL_ADD = (
    "ALTER TABLE {ledger} ADD CONSTRAINT saka_tx_user_fk FOREIGN KEY (user_id)"
    " REFERENCES {user_table} ({user_key})"
)
MYSQL_DROP = "ALTER TABLE {ledger} DROP FOREIGN KEY saka_tx_user_fk"
SQLITE_TRIGGER = """
CREATE TRIGGER IF NOT EXISTS saka_ledger_user_exists BEFORE INSERT ON {ledger}
FOR EACH ROW WHEN NEW.user_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM {user_table} WHERE {user_key} = NEW.user_id)
BEGIN SELECT RAISE(ABORT, 'A SAKA ledger row must name an existing user'); END
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS saka_ledger_user_exists"

FORWARD = {"postgresql": PG_FUNCTION, "mysql": MYSQL_ADD, "sqlite": SQLITE_TRIGGER}
BACKWARD = {"postgresql": PG_DROP, "mysql": MYSQL_DROP, "sqlite": SQLITE_DROP}


def _run(statements, apps, schema_editor):
    sql = statements.get(schema_editor.connection.vendor)
    if sql is None:
        return
    ledger = apps.get_model("django_saka", "Transaction")
    user_model = ledger._meta.get_field("user").related_model
    quote = schema_editor.quote_name
    # params=None: the PL/pgSQL body would otherwise be scanned for placeholders.
    schema_editor.execute(
        sql.format(
            ledger=quote(ledger._meta.db_table),
            user_table=quote(user_model._meta.db_table),
            user_key=quote(user_model._meta.pk.column),
        ),
        params=None,
    )


def check_users(apps, schema_editor):
    _run(FORWARD, apps, schema_editor)


def stop_checking_users(apps, schema_editor):
    _run(BACKWARD, apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("django_saka", "0008_notification_delivery"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="transaction",
            name="user",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=models.SET_NULL,
                related_name="saka_transactions",
                to=settings.AUTH_USER_MODEL,
                verbose_name="user",
            ),
        ),
        # atomic=False: MariaDB cannot roll DDL back, and Django refuses DDL in a
        # transaction there (on PostgreSQL it still runs in the migration's own).
        migrations.RunPython(check_users, stop_checking_users, atomic=False, elidable=False),
    ]
