from django.urls import path

from . import views

app_name = "collection"

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<int:pk>/", views.import_detail, name="import_detail"),
    path("imports/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("imports/<int:pk>/check/", views.import_check, name="import_check"),
    path("imports/<int:pk>/run/", views.import_run, name="import_run"),
    path("imports/<int:pk>/cancel/", views.import_cancel, name="import_cancel"),
    path("imports/<int:pk>/rejected.<str:fmt>", views.import_rejected, name="import_rejected"),
    path("customers/export.<str:fmt>", views.customer_export, name="customer_export"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/edit/", views.report_edit, name="report_edit"),
    path("reports/<int:pk>/tasks/", views.task_add, name="task_add"),
    path("reports/<int:pk>/tasks/<int:tid>/remove/", views.task_remove, name="task_remove"),
    path("reports/<int:pk>/tasks/<int:tid>/findings/", views.task_findings, name="task_findings"),
    path("reports/<int:pk>/customers/link/", views.report_link, name="report_link"),
    path("reports/<int:pk>/customers/unlink/", views.report_unlink, name="report_unlink"),
    path("reports/<int:pk>/publish/", views.report_publish, name="report_publish"),
    path("reports/<int:pk>/archive/", views.report_archive, name="report_archive"),
]
