from django.urls import path

from . import views

app_name = "service"

urlpatterns = [
    path("", views.request_list, name="list"),
    path("new/", views.request_new, name="new"),
    path("new/customers/", views.customer_pick, name="customer_pick"),
    path("settings/", views.service_settings, name="settings"),
    path("<int:pk>/", views.request_detail, name="detail"),
    path("<int:pk>/note/", views.request_note, name="note"),
    path("<int:pk>/solve/", views.request_solve, name="solve"),
    path("<int:pk>/refer/", views.request_refer, name="refer"),
    path("<int:pk>/plan/", views.request_plan, name="plan"),
    path("<int:pk>/move/", views.request_move, name="move"),
    path("<int:pk>/close/", views.request_close, name="close"),
    path("<int:pk>/helpers/", views.request_add_helper, name="add_helper"),
]
