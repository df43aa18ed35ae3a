from django.db import migrations

from crm.db import append_only_trigger_sql

# R6.1 / R6.5 in the database, whatever client or console writes: the timeline is never edited or
# deleted, and a request's responsible person, submitted text, type, customer and logging time
# never change once it is logged (later words are notes).
TIMELINE = append_only_trigger_sql("service_requestevent")
FIXED_CREATE = """
CREATE OR REPLACE FUNCTION service_request_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.responsible_id IS DISTINCT FROM OLD.responsible_id
     OR NEW.text IS DISTINCT FROM OLD.text
     OR NEW.kind IS DISTINCT FROM OLD.kind
     OR NEW.customer_id IS DISTINCT FROM OLD.customer_id
     OR NEW.created_at IS DISTINCT FROM OLD.created_at THEN
    RAISE EXCEPTION 'service_servicerequest: responsible person and submitted text are fixed'
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER service_request_fixed BEFORE UPDATE ON service_servicerequest
  FOR EACH ROW EXECUTE FUNCTION service_request_fixed();
"""
FIXED_DROP = (
    "DROP TRIGGER IF EXISTS service_request_fixed ON service_servicerequest; "
    "DROP FUNCTION IF EXISTS service_request_fixed();"
)


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TIMELINE[0])
        schema_editor.execute(FIXED_CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TIMELINE[1])
        schema_editor.execute(FIXED_DROP)


class Migration(migrations.Migration):
    dependencies = [("service", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
