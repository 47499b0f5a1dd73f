"""On PostgreSQL, the database itself refuses to change or delete ledger rows.

Raw SQL included. The one change allowed is the one Django makes when a user is
deleted: setting ``user_id`` to NULL on that user's rows, and only if the user is
really gone when the transaction commits (a deferred constraint trigger checks it).
Other backends rely on the ORM guards; this migration does nothing there.
"""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION saka_ledger_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'The SAKA ledger is append-only: DELETE of row % refused', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.user_id IS NOT NULL AND NEW.user_id IS NULL
       AND (to_jsonb(NEW) - 'user_id') = (to_jsonb(OLD) - 'user_id') THEN
        RETURN NEW;  -- the user is being deleted (checked at commit below)
    END IF;
    RAISE EXCEPTION 'The SAKA ledger is append-only: UPDATE of row % refused', OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION saka_ledger_user_really_deleted() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {user_table} WHERE id = OLD.user_id) THEN
        RAISE EXCEPTION 'The SAKA ledger is append-only: row % lost its user, who still exists',
            OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGERS = """
CREATE TRIGGER saka_ledger_no_delete BEFORE DELETE ON {ledger}
    FOR EACH ROW EXECUTE FUNCTION saka_ledger_refuse_change();
CREATE TRIGGER saka_ledger_no_update BEFORE UPDATE ON {ledger}
    FOR EACH ROW EXECUTE FUNCTION saka_ledger_refuse_change();
CREATE CONSTRAINT TRIGGER saka_ledger_user_deleted AFTER UPDATE OF user_id ON {ledger}
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.user_id IS NULL)
    EXECUTE FUNCTION saka_ledger_user_really_deleted();
"""

DROP = """
DROP TRIGGER IF EXISTS saka_ledger_user_deleted ON {ledger};
DROP TRIGGER IF EXISTS saka_ledger_no_update ON {ledger};
DROP TRIGGER IF EXISTS saka_ledger_no_delete ON {ledger};
DROP FUNCTION IF EXISTS saka_ledger_user_really_deleted();
DROP FUNCTION IF EXISTS saka_ledger_refuse_change();
"""


def _tables(apps, schema_editor):
    quote = schema_editor.quote_name
    ledger = apps.get_model("django_saka", "Transaction")
    # The user table as this migration state knows it (no settings read here).
    user_model = ledger._meta.get_field("user").related_model
    return {"ledger": quote(ledger._meta.db_table), "user_table": quote(user_model._meta.db_table)}


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    tables = _tables(apps, schema_editor)
    # params=None: the PL/pgSQL bodies use % in RAISE, which is not a placeholder.
    schema_editor.execute(FUNCTIONS.format(**tables), params=None)
    schema_editor.execute(TRIGGERS.format(**tables), params=None)


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(DROP.format(**_tables(apps, schema_editor)), params=None)


class Migration(migrations.Migration):
    dependencies = [("django_saka", "0002_create_silo")]

    operations = [migrations.RunPython(install, uninstall, elidable=False)]
