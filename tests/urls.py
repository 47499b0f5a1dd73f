from django.contrib import admin
from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("saka/", include("django_saka.api.urls")),
    path("projects/<int:pk>/read/", views.read_project, name="read_project"),
    path("projects/<int:pk>/support/", views.support_project, name="support_project"),
]
