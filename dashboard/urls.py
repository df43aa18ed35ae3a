from django.urls import path

from . import views

app_name = "dashboard"

urlpatterns = [
    path("workbench/", views.workbench, name="workbench"),
    path("team/", views.team, name="team"),
    path("finance/", views.finance, name="finance"),
    path("movements/", views.movements, name="movements"),
    path("sales/", views.sales, name="sales"),
    path("receivables/", views.receivables, name="receivables"),
    path("receivables/export/", views.receivables_export, name="receivables_export"),
    path("commission/export/", views.commission_export, name="commission_export"),
]
