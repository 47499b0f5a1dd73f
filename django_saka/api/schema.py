"""The OpenAPI document of the endpoints, as this host serves them.

Generated from the host's URLs (so the paths carry the prefix the host included the
API under) and its authentication classes (so the security schemes are the ones the
host accepts), but only for the views of :mod:`django_saka.api`: the host's other
REST framework views, if any, are not part of it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny
from rest_framework.request import Request

from .. import __version__
from .views import SakaAPIView

DESCRIPTION = (
    "The HTTP API of django-saka for the host's front ends: a member's wallet, ledger "
    "and compost preview, the silo and the seasons, and for operators the runs, a "
    "compost dry run and the audits. Harvest and spend are not here: they stay calls "
    "of the host's own server code."
)


def is_saka_endpoint(callback: Any) -> bool:
    view_class = getattr(callback, "cls", None)
    return isinstance(view_class, type) and issubclass(view_class, SakaAPIView)


class SakaSchemaGenerator(SchemaGenerator):
    """drf-spectacular's generator, limited to django-saka's endpoints and titled for them."""

    def _initialise_endpoints(self) -> None:
        super()._initialise_endpoints()
        self.endpoints = [endpoint for endpoint in self.endpoints if is_saka_endpoint(endpoint[3])]

    def get_schema(self, request: Request | None = None, public: bool = False) -> dict[str, Any]:
        schema = super().get_schema(request=request, public=public)
        # Set here rather than through SPECTACULAR_SETTINGS, which are the host's.
        schema["info"] = {
            "title": "django-saka",
            "version": __version__,
            "description": DESCRIPTION,
        }
        return schema


def openapi_document(request: Request | None = None) -> dict[str, Any]:
    """The document :class:`SchemaView` serves, as a dict."""
    return SakaSchemaGenerator().get_schema(request=request, public=True)


class SchemaView(SpectacularAPIView):
    """The OpenAPI document: YAML by default, JSON with ``?format=json`` or
    ``Accept: application/vnd.oai.openapi+json``. Open to anyone, like the API's
    shape in the documentation."""

    generator_class = SakaSchemaGenerator
    serve_public = True
    permission_classes = [AllowAny]
    versioning_class = None
