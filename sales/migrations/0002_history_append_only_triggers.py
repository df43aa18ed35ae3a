from django.db import migrations

from crm.db import append_only_trigger_sql

# Sales and tier history are never edited or deleted (R8.2: "the history shows both"); a payment
# is reversed, never deleted.
TRIGGERS = [
    append_only_trigger_sql("sales_saleevent"),
    append_only_trigger_sql("sales_tierchange"),
    append_only_trigger_sql("sales_payment", operations="DELETE"),
]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for create, _drop in TRIGGERS:
            schema_editor.execute(create)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for _create, drop in TRIGGERS:
            schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
