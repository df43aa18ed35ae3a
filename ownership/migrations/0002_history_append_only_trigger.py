from django.db import migrations

# R5.9: ownership history rows are never edited or deleted, whatever code or console tries.
# TRUNCATE (table owner only) is left to the test runner's flush.
CREATE = """
CREATE OR REPLACE FUNCTION ownership_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ownership history is append-only (R5.9)' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER ownership_event_append_only
  BEFORE UPDATE OR DELETE ON ownership_ownershipevent
  FOR EACH ROW EXECUTE FUNCTION ownership_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS ownership_event_append_only ON ownership_ownershipevent;
DROP FUNCTION IF EXISTS ownership_event_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("ownership", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
