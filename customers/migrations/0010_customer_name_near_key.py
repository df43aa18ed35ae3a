"""The near-duplicate key (深圳市X有限公司 / 深圳X有限公司), filled for the existing customers in
batches, each its own transaction (a million rows would otherwise be one long transaction holding
every row lock), then indexed. Running it again fills only what is still empty."""

from django.db import migrations, models, transaction

BATCH = 5000


def fill_near_keys(apps, schema_editor):
    from customers.validators import company_near_key

    Customer = apps.get_model("customers", "Customer")
    last = 0
    while True:
        with transaction.atomic():
            rows = list(
                Customer.objects.filter(pk__gt=last, name_near_key="").order_by("pk").values_list("pk", "name")[:BATCH]
            )
            if not rows:
                return
            changed = [Customer(pk=pk, name_near_key=key) for pk, name in rows if (key := company_near_key(name))]
            Customer.objects.bulk_update(changed, ["name_near_key"], batch_size=1000)
            last = rows[-1][0]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("customers", "0009_document_notified_owner"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="name_near_key",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.RunPython(fill_near_keys, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(
                condition=models.Q(("name_near_key", ""), _negated=True),
                fields=["name_near_key"],
                name="cust_name_near_key",
            ),
        ),
    ]
