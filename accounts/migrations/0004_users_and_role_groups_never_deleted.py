"""Users are deactivated, never deleted: ownership, sales and service history, download logs and
notifications point at them. The four role groups carry the CRM's roles: never deleted nor
renamed. On PostgreSQL triggers refuse both whatever the client (the admin refuses them too)."""

from django.db import migrations

ROLES = ("salesperson", "manager", "finance", "admin")

CREATE = f"""
CREATE OR REPLACE FUNCTION accounts_user_never_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'users are deactivated, never deleted (user %)', OLD.username
    USING ERRCODE = 'integrity_constraint_violation';
END $$;
CREATE TRIGGER accounts_user_never_deleted BEFORE DELETE ON accounts_user
  FOR EACH ROW EXECUTE FUNCTION accounts_user_never_deleted();

CREATE OR REPLACE FUNCTION auth_group_roles_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.name IN {ROLES!r} AND (TG_OP = 'DELETE' OR NEW.name <> OLD.name) THEN
    RAISE EXCEPTION 'the role group % is kept and keeps its name', OLD.name
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER auth_group_roles_kept BEFORE UPDATE OR DELETE ON auth_group
  FOR EACH ROW EXECUTE FUNCTION auth_group_roles_kept();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_user_never_deleted ON accounts_user;
DROP FUNCTION IF EXISTS accounts_user_never_deleted();
DROP TRIGGER IF EXISTS auth_group_roles_kept ON auth_group;
DROP FUNCTION IF EXISTS auth_group_roles_kept();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)  # RAISE uses %: no placeholders


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_admin_role_views_audit_records")]
    operations = [migrations.RunPython(forwards, backwards)]
