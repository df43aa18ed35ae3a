from django.urls import path

from . import views

app_name = "sales"

urlpatterns = [
    path("", views.orders, name="orders"),
    path("customer/<int:customer_pk>/order/", views.order_create, name="order_create"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/confirm/", views.payment_confirm, name="payment_confirm"),
    path("payments/<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("queue/", views.queue, name="queue"),
    path("receivables/", views.receivables, name="receivables"),
    path("commission/", views.commission, name="commission"),
    path("settings/", views.settings, name="settings"),
    path("holds/", views.holds, name="holds"),
    path("holds/<int:pk>/release/", views.hold_release, name="hold_release"),
]
