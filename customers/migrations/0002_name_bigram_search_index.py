from django.db import migrations

from customers.search import CREATE_BIGRAMS_SQL, DROP_BIGRAMS_SQL


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(CREATE_BIGRAMS_SQL)
    schema_editor.execute("CREATE INDEX IF NOT EXISTS cust_name_bigrams ON customers_customer USING gin (crm_bigrams(name))")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS cust_name_bigrams")
    schema_editor.execute(DROP_BIGRAMS_SQL)


class Migration(migrations.Migration):
    dependencies = [("customers", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
