from django.urls import path

from . import views

app_name = "handovers"

urlpatterns = [
    path("", views.handover_list, name="list"),
    path("new/", views.handover_new, name="new"),
    path("report/", views.report, name="report"),
    path("report/export/", views.report_export, name="report_export"),
    path("<int:pk>/", views.handover_detail, name="detail"),
    path("<int:pk>/send/", views.handover_send, name="send"),
    path("<int:pk>/confirm/", views.handover_confirm, name="confirm"),
    path("<int:pk>/complete/", views.handover_complete, name="complete"),
    path("<int:pk>/cancel/", views.handover_cancel, name="cancel"),
    path("<int:pk>/add/", views.handover_add, name="add"),
    path("<int:pk>/refresh/", views.handover_refresh, name="refresh"),
    path("<int:pk>/items/<int:item_pk>/", views.item_detail, name="item"),
]
