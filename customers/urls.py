from django.urls import path

from . import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("mine/", views.mine, name="mine"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/edit/", views.edit, name="edit"),
    path("<int:pk>/contacts/add/", views.contact_add, name="contact_add"),
    path("<int:pk>/contacts/<int:cid>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/contacts/<int:cid>/delete/", views.contact_delete, name="contact_delete"),
    path("<int:pk>/documents/upload/", views.document_upload, name="document_upload"),
    path("<int:pk>/documents/<int:did>/", views.document_download, name="document_download"),
    path("<int:pk>/documents/<int:did>/archive/", views.document_archive, name="document_archive"),
]
