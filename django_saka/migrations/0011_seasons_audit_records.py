"""Seasons and audit records, and the permissions of the operator's admin pages.

Seasons never overlap, and the database enforces it (``Season.clean`` says so
earlier, in forms): an exclusion constraint over ``tstzrange(start, end)`` on
PostgreSQL (it also holds against two sessions inserting at once); ``BEFORE INSERT``
and ``BEFORE UPDATE`` triggers on MariaDB/MySQL and SQLite. On MariaDB two sessions
that insert overlapping seasons at the same instant could both pass their trigger;
seasons are created by hand in the admin, so that race is left to the form's check.
"""

import django.utils.timezone
import model_utils.fields
from django.db import migrations, models

# [start, end): seasons may touch. NEW rows are compared with the others' columns.
_CLASH = "SELECT 1 FROM {table} s WHERE s.{start} < NEW.{end} AND s.{end} > NEW.{start}"
MESSAGE = "saka_season_no_overlap: SAKA seasons may not overlap"
FORWARD = {
    "postgresql": [
        "ALTER TABLE {table} ADD CONSTRAINT saka_season_no_overlap"
        " EXCLUDE USING gist (tstzrange({start}, {end}, '[)') WITH &&)"
    ],
    "sqlite": [
        "CREATE TRIGGER saka_season_no_overlap_insert BEFORE INSERT ON {table}"
        f" WHEN EXISTS ({_CLASH}) BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
        "CREATE TRIGGER saka_season_no_overlap_update BEFORE UPDATE ON {table}"
        f" WHEN EXISTS ({_CLASH} AND s.id <> NEW.id)"
        f" BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    ],
    "mysql": [
        "CREATE TRIGGER saka_season_no_overlap_insert BEFORE INSERT ON {table} FOR EACH ROW"
        f" BEGIN IF EXISTS ({_CLASH}) THEN"
        f" SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{MESSAGE}'; END IF; END",
        "CREATE TRIGGER saka_season_no_overlap_update BEFORE UPDATE ON {table} FOR EACH ROW"
        f" BEGIN IF EXISTS ({_CLASH} AND s.id <> NEW.id) THEN"
        f" SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{MESSAGE}'; END IF; END",
    ],
}
BACKWARD = {
    "postgresql": ["ALTER TABLE {table} DROP CONSTRAINT saka_season_no_overlap"],
    "sqlite": [
        "DROP TRIGGER IF EXISTS saka_season_no_overlap_insert",
        "DROP TRIGGER IF EXISTS saka_season_no_overlap_update",
    ],
    "mysql": [
        "DROP TRIGGER IF EXISTS saka_season_no_overlap_insert",
        "DROP TRIGGER IF EXISTS saka_season_no_overlap_update",
    ],
}


def _run(statements, apps, schema_editor):
    quote = schema_editor.quote_name
    names = {
        "table": quote(apps.get_model("django_saka", "Season")._meta.db_table),
        "start": quote("start"),
        "end": quote("end"),
    }
    for sql in statements.get(schema_editor.connection.vendor, []):
        schema_editor.execute(sql.format(**names), params=None)


def forbid_overlaps(apps, schema_editor):
    _run(FORWARD, apps, schema_editor)


def allow_overlaps(apps, schema_editor):
    _run(BACKWARD, apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ('django_saka', '0010_ledger_indexes'),
    ]

    operations = [
        migrations.CreateModel(
            name='AuditRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', model_utils.fields.AutoCreatedField(default=django.utils.timezone.now, editable=False, verbose_name='created')),
                ('modified', model_utils.fields.AutoLastModifiedField(default=django.utils.timezone.now, editable=False, verbose_name='modified')),
                ('status', model_utils.fields.StatusField(choices=[('running', 'running'), ('ok', 'ok'), ('broken', 'invariants broken'), ('failed', 'failed')], default='running', max_length=100, no_check_for_status=True, verbose_name='status')),
                ('status_changed', model_utils.fields.MonitorField(default=django.utils.timezone.now, monitor='status', verbose_name='status changed')),
                ('source', models.CharField(default='api', max_length=32, verbose_name='source')),
                ('finished_at', models.DateTimeField(blank=True, null=True, verbose_name='finished')),
                ('duration_seconds', models.FloatField(blank=True, null=True, verbose_name='duration (s)')),
                ('wallets_checked', models.BigIntegerField(default=0, verbose_name='wallets checked')),
                ('ledger_rows', models.BigIntegerField(default=0, verbose_name='ledger rows')),
                ('discrepancy_count', models.IntegerField(default=0, verbose_name='discrepancies found')),
                ('discrepancies', models.JSONField(blank=True, default=list, verbose_name='discrepancies')),
                ('truncated', models.BooleanField(default=False, verbose_name='truncated')),
                ('error', models.TextField(blank=True, default='', verbose_name='error')),
            ],
            options={
                'verbose_name': 'audit record',
                'verbose_name_plural': 'audit records',
                'ordering': ['-created', '-id'],
                'permissions': [('run_audit', 'Can run the ledger audit')],
            },
        ),
        migrations.AlterModelOptions(
            name='cyclerun',
            options={'ordering': ['-started_at'], 'permissions': [('view_dashboard', 'Can see the SAKA dashboard and settings'), ('preview_compost', 'Can preview a compost (dry run)'), ('start_cycle', 'Can start a compost or a redistribution'), ('take_over_run', 'Can take over a dead run'), ('abandon_run', 'Can abandon an unfinished run')], 'verbose_name': 'cycle run', 'verbose_name_plural': 'cycle runs'},
        ),
        migrations.AlterModelOptions(
            name='wallet',
            options={'permissions': [('adjust_wallet', 'Can credit or debit a wallet by hand')], 'verbose_name': 'wallet', 'verbose_name_plural': 'wallets'},
        ),
        migrations.CreateModel(
            name='Season',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created', model_utils.fields.AutoCreatedField(default=django.utils.timezone.now, editable=False, verbose_name='created')),
                ('modified', model_utils.fields.AutoLastModifiedField(default=django.utils.timezone.now, editable=False, verbose_name='modified')),
                ('name', models.CharField(max_length=100, unique=True, verbose_name='name')),
                ('start', models.DateTimeField(verbose_name='start')),
                ('end', models.DateTimeField(help_text='Not included: the next season may start here.', verbose_name='end')),
            ],
            options={
                'verbose_name': 'season',
                'verbose_name_plural': 'seasons',
                'ordering': ['-start'],
                'constraints': [models.CheckConstraint(condition=models.Q(('start__lt', models.F('end'))), name='saka_season_start_before_end')],
            },
        ),
        # atomic=False: MariaDB cannot roll DDL back, and refuses it inside a transaction.
        migrations.RunPython(forbid_overlaps, allow_overlaps, atomic=False, elidable=False),
    ]
