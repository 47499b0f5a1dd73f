from django.db import migrations


def create_silo(apps, schema_editor):
    Silo = apps.get_model("django_saka", "Silo")
    Silo.objects.using(schema_editor.connection.alias).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("django_saka", "0001_initial")]

    operations = [migrations.RunPython(create_silo, migrations.RunPython.noop, elidable=False)]
