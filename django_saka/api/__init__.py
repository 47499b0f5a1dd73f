"""The optional HTTP API of django-saka (``pip install django-saka[api]``).

Read-only endpoints for the host's front ends, on Django REST framework with an
OpenAPI document from drf-spectacular; see ``docs/http-api.md``. Include it with
``path("saka/", include("django_saka.api.urls"))``.

Nothing else in django-saka imports this package, so the app works without the
extra installed. :mod:`django_saka.api.errors` needs Django only: a plain Django
view can use its error mapping without REST framework.
"""
