"""The PostgreSQL ledger trigger looks the user up by the user model's own key column.

0003 wrote ``WHERE id = ...``, which fails at commit for a custom user model whose
primary-key column is not ``id`` (the check runs when a user is deleted). This
replaces that one function; the triggers keep calling it by name. Other backends
have no trigger and nothing to do.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION saka_ledger_user_really_deleted() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM {user_table} WHERE {user_key} = OLD.user_id) THEN
        RAISE EXCEPTION 'The SAKA ledger is append-only: row % lost its user, who still exists',
            OLD.id USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _function(apps, schema_editor, key_column):
    ledger = apps.get_model("django_saka", "Transaction")
    user_model = ledger._meta.get_field("user").related_model
    quote = schema_editor.quote_name
    return FUNCTION.format(
        user_table=quote(user_model._meta.db_table),
        user_key=quote(key_column or user_model._meta.pk.column),
    )


def use_the_user_key(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the PL/pgSQL body uses % in RAISE, which is not a placeholder.
        schema_editor.execute(_function(apps, schema_editor, None), params=None)


def back_to_id(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(_function(apps, schema_editor, "id"), params=None)


class Migration(migrations.Migration):
    dependencies = [("django_saka", "0004_cycle_shards")]

    operations = [migrations.RunPython(use_the_user_key, back_to_id, elidable=False)]
