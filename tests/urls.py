from django.contrib import admin
from django.urls import path

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("projects/<int:pk>/read/", views.read_project, name="read_project"),
    path("projects/<int:pk>/support/", views.support_project, name="support_project"),
]
