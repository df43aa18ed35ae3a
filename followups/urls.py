from django.urls import path

from . import views

app_name = "followups"

urlpatterns = [
    path("plan/", views.plan, name="plan"),
    path("plans/", views.team_plans, name="team_plans"),
    path("due/", views.due, name="due"),
    path("visits/", views.visits, name="visits"),
    path("visits/new/", views.visit_new, name="visit_new"),
    path("visits/<int:pk>/edit/", views.visit_edit, name="visit_edit"),
    path("customers/<int:pk>/visit/", views.visit_add, name="visit_add"),
    path("reports/team/", views.team_reports, name="team_reports"),
    path("reports/team/export/", views.team_export, name="team_export"),
    path("reports/<int:pk>/", views.report_detail, name="report_detail"),
    path("reports/<int:pk>/comment/", views.report_comment, name="report_comment"),
    path("reports/<str:kind>/", views.my_report, name="my_report"),
]
