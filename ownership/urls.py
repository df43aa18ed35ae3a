from django.urls import path

from . import views

app_name = "ownership"

urlpatterns = [
    path("", views.pool, name="pool"),
    path("register/", views.register, name="register"),
    path("log/", views.release_log, name="release_log"),
    path("notes/missing/", views.missing_notes, name="missing_notes"),
    path("notes/missing/<int:pk>/demand/", views.missing_note_demand, name="missing_note_demand"),
    path("preview/", views.preview, name="preview"),
    path("preview/<str:day>/", views.preview_day, name="preview_day"),
    path("settings/", views.settings, name="settings"),
    path("<int:pk>/", views.pool_detail, name="pool_detail"),
    path("<int:pk>/claim/", views.claim, name="claim"),
    path("<int:pk>/note/", views.release_note, name="release_note"),
    path("<int:pk>/release/", views.release, name="release"),
    path("<int:pk>/assign/", views.assign, name="assign"),
    path("<int:pk>/problem/", views.mark_problem, name="mark_problem"),
    path("<int:pk>/problem/clear/", views.clear_problem, name="clear_problem"),
    path("<int:pk>/credit/", views.credit_status, name="credit_status"),
    path("<int:pk>/extend/", views.extend, name="extend"),
]
