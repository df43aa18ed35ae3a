# The order's copy of its customer's department (issue 13): lists and the dashboard scope and
# group orders by it without joining a million customers. Filled from the customers, then required.
# And sales history by time: the dashboard finds the orders whose sale changed since its summary.

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_departments(apps, schema_editor):
    Order = apps.get_model("sales", "Order")
    Customer = apps.get_model("customers", "Customer")
    Order.objects.update(
        department_id=Subquery(Customer.objects.filter(pk=OuterRef("customer_id")).values("department_id")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_admin_role_views_audit_records"),
        ("customers", "0009_document_notified_owner"),
        ("sales", "0004_first_sale_reversed_label"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="department",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.department",
                verbose_name="department",
            ),
        ),
        migrations.RunPython(fill_departments, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="order",
            name="department",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounts.department",
                verbose_name="department",
            ),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["department", "confirmed_on"], name="order_department_sale"),
        ),
        migrations.AddIndex(
            model_name="saleevent",
            index=models.Index(fields=["at"], name="sale_event_at"),
        ),
    ]
