"""Handover events are never edited or deleted, whatever client writes (PostgreSQL trigger); the
admin role reads handovers, items and events in the Django admin (never changes them)."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION handovers_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'handover events are append-only' USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER handovers_event_append_only
  BEFORE UPDATE OR DELETE ON handovers_handoverevent
  FOR EACH ROW EXECUTE FUNCTION handovers_event_append_only();
"""
DROP = """
DROP TRIGGER IF EXISTS handovers_event_append_only ON handovers_handoverevent;
DROP FUNCTION IF EXISTS handovers_event_append_only();
"""
VIEW = ["view_handover", "view_handoveritem", "view_handoverevent"]


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("handovers")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="admin")
    group.permissions.add(*Permission.objects.filter(content_type__app_label="handovers", codename__in=VIEW))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="admin").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="handovers", codename__in=VIEW))


class Migration(migrations.Migration):
    dependencies = [("handovers", "0001_initial"), ("accounts", "0003_admin_role_views_audit_records")]
    operations = [migrations.RunPython(forwards, backwards), migrations.RunPython(grant, revoke)]
