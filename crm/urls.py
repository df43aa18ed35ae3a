from django.contrib import admin
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from dashboard import views as dashboard_views

from . import views

urlpatterns = [
    # The home page of each role (workbench, team dashboard, finance home).
    path("", dashboard_views.home, name="home"),
    path("dashboard/", include("dashboard.urls")),
    path("healthz", views.healthz, name="healthz"),
    # Browsers and tools ask the root for it whatever the page says.
    path("favicon.ico", views.favicon, name="favicon"),
    # The language switch is on the login page too.
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("accounts/", include("accounts.urls")),
    path("customers/", include("customers.urls")),
    path("pool/", include("ownership.urls")),
    path("sales/", include("sales.urls")),
    path("notifications/", include("notifications.urls")),
    path("followups/", include("followups.urls")),
    path("service/", include("service.urls")),
    path("collection/", include("collection.urls")),
    path("handovers/", include("handovers.urls")),
    path("rules/", include("rules.urls")),
    path("admin/", admin.site.urls),
]
