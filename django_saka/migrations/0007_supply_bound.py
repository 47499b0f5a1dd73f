"""The supply bound: wallets' harvest allowances, the silo's unissued grains, and on
SQLite triggers that refuse a counter which is not a whole number.

``Silo.unissued`` starts at the bound minus the supply already there (0 if an older
install is already past it: harvests are then refused until the supply falls back).

SQLite turns an integer sum past 2**63 - 1 into a floating-point value and stores it,
rounded, where PostgreSQL and MariaDB raise. The app never computes such a sum (the
supply bound), and these triggers make SQLite refuse one if it ever comes, from any
code. Django's SQLite schema editor rebuilds a table for many changes (a new
constraint, a changed column) and a rebuilt table loses its triggers: a later
migration that alters one of these tables on SQLite must run :func:`install` again
(tests/test_overflow.py checks they are there).
"""

from django.db import migrations, models

MAX_GRAINS = 2**63 - 1

# Counter columns per model; None marks a nullable one.
COUNTERS = {
    "Wallet": [
        "balance",
        "total_harvested",
        "total_spent",
        "total_composted",
        "total_received",
        "allowance",
    ],
    "Silo": ["balance", "total_composted", "total_redistributed", "total_closed", "unissued"],
    "CycleRun": [
        "planned_wallets",
        "planned_grains",
        "per_wallet",
        "wallets_done",
        "grains_done",
        ("silo_before", None),
        ("silo_after", None),
    ],
    "CycleShard": ["wallets_done", "grains_done"],
}


def _trigger_name(table, operation):
    return f"saka_whole_{table}_{operation}"[:60]


def _condition(model, columns):
    parts = []
    for column in columns:
        name, nullable = (column[0], True) if isinstance(column, tuple) else (column, False)
        allowed = "('integer', 'null')" if nullable else "('integer')"
        parts.append(f'typeof(NEW."{model._meta.get_field(name).column}") NOT IN {allowed}')
    return " OR ".join(parts)


def install(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for model_name, columns in COUNTERS.items():
        model = apps.get_model("django_saka", model_name)
        table = model._meta.db_table
        for operation in ("insert", "update"):
            schema_editor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {_trigger_name(table, operation)}"
                f' BEFORE {operation.upper()} ON "{table}" FOR EACH ROW'
                f" WHEN {_condition(model, columns)} BEGIN SELECT RAISE(ABORT,"
                f" 'django-saka: a counter of {table} must be a whole number of at most"
                f" {MAX_GRAINS}'); END",
                params=None,
            )


def uninstall(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    for model_name in COUNTERS:
        table = apps.get_model("django_saka", model_name)._meta.db_table
        for operation in ("insert", "update"):
            schema_editor.execute(
                f"DROP TRIGGER IF EXISTS {_trigger_name(table, operation)}", params=None
            )


def set_unissued(apps, schema_editor):
    """Unissued = the bound minus the supply, summed exactly in Python (SQLite's SUM
    raises past 2**63 - 1 on an older install that already went there)."""
    using = schema_editor.connection.alias
    silo = apps.get_model("django_saka", "Silo").objects.using(using)
    wallets = apps.get_model("django_saka", "Wallet").objects.using(using)
    row = silo.filter(pk=1).values("balance").first()
    if row is None:
        return  # created later with the default, MAX_GRAINS
    supply = row["balance"]
    for balance in wallets.values_list("balance", flat=True).iterator(chunk_size=10_000):
        supply += balance
    silo.filter(pk=1).update(unissued=max(0, MAX_GRAINS - supply))


class Migration(migrations.Migration):
    dependencies = [("django_saka", "0006_ledger_exact_string_columns")]

    operations = [
        migrations.AddField(
            model_name="silo",
            name="unissued",
            field=models.BigIntegerField(
                default=MAX_GRAINS, editable=False, verbose_name="unissued"
            ),
        ),
        migrations.AddField(
            model_name="wallet",
            name="allowance",
            field=models.BigIntegerField(
                default=0, db_default=0, editable=False, verbose_name="harvest allowance"
            ),
        ),
        migrations.AddConstraint(
            model_name="silo",
            constraint=models.CheckConstraint(
                condition=models.Q(("unissued__gte", 0)), name="saka_silo_unissued_gte_0"
            ),
        ),
        migrations.AddConstraint(
            model_name="wallet",
            constraint=models.CheckConstraint(
                condition=models.Q(("allowance__gte", 0)), name="saka_wallet_allowance_gte_0"
            ),
        ),
        migrations.RunPython(set_unissued, migrations.RunPython.noop, elidable=False),
        # Last: the AddConstraint operations above rebuild the tables on SQLite.
        migrations.RunPython(install, uninstall, elidable=False),
    ]
