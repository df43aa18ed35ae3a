from django.db import migrations

from crm.db import append_only_trigger_sql

# An information report's history (created, published, archived: who and when) is never edited.
CREATE, DROP = append_only_trigger_sql("collection_inforeportevent", operations="UPDATE")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("collection", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
