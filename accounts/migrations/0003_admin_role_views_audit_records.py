"""The admin role reads (never changes) the audit and job records of every app in the Django admin:
ownership history, sales history, service timelines, imports, information reports."""

from django.db import migrations

VIEW = {
    "customers": ["customer", "contact", "creditstatuschange", "customerdocument", "documentdownload"],
    "ownership": ["ownershipevent", "nightlyrun", "releasenote", "missingreleasenote"],
    "sales": ["order", "payment", "saleevent", "tierchange", "commissionhold", "salessettings"],
    "service": ["servicerequest", "requestevent", "requesthelper", "servicesettings"],
    "collection": ["importbatch", "inforeport", "infotask", "inforeportevent"],
}


def _codenames():
    return [(app, f"view_{model}") for app, models in VIEW.items() for model in models]


def grant(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="admin")
    for app_label, codename in _codenames():
        group.permissions.add(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="admin").first()
    if group is None:
        return
    for app_label, codename in _codenames():
        group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_create_role_groups"),
        ("customers", "0006_customer_documents"),
        ("ownership", "0003_mask_label_mentions_wechat"),
        ("sales", "0002_history_append_only_triggers"),
        ("service", "0001_initial"),
        ("collection", "0001_initial"),
    ]
    operations = [migrations.RunPython(grant, revoke)]
