from django.db import migrations

from crm.db import append_only_trigger_sql

# R6.4: the log of document downloads (who, when, which file) is never edited or deleted.
CREATE, DROP = append_only_trigger_sql("customers_documentdownload")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("customers", "0006_customer_documents")]
    operations = [migrations.RunPython(forwards, backwards)]
