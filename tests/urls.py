from django.contrib import admin
from django.urls import include, path

from tests.testapp import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("saka/", include("django_saka.api.urls")),
    path("projects/<int:pk>/read/", views.read_project, name="read_project"),
    path("projects/<int:pk>/support/", views.support_project, name="support_project"),
    path("projects/<int:pk>/plant/", views.plant, name="plant"),
    path("projects/<int:pk>/plant-form/", views.plant_without_rest_framework, name="plant_form"),
]
