from django.db import migrations

ROLES = ("salesperson", "manager", "finance", "admin")

# Model permissions each role holds (used by the admin site; the CRM's own rules live in
# services and selectors).
PERMS = {
    "salesperson": [("customers", "customer", ["add", "change", "view"]), ("customers", "contact", ["add", "change", "delete", "view"])],
    "manager": [
        ("customers", "customer", ["add", "change", "view"]),
        ("customers", "contact", ["add", "change", "delete", "view"]),
        ("ownership", "poolsettings", ["change", "view"]),
        ("ownership", "ownershipevent", ["view"]),
    ],
    "finance": [("customers", "customer", ["view"]), ("customers", "creditstatuschange", ["add", "view"])],
    "admin": [
        ("accounts", "user", ["add", "change", "view"]),
        ("accounts", "department", ["add", "change", "view"]),
        ("ownership", "poolsettings", ["change", "view"]),
    ],
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, model, actions in PERMS.get(role, []):
            codenames = [f"{a}_{model}" for a in actions]
            group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("customers", "0001_initial"),
        ("ownership", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_groups, remove_groups)]
