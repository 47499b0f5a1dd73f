"""A REST framework exception handler that answers every ``SakaError``.

For the host's own REST framework views that call ``services.harvest()`` or
``services.spend()``::

    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "django_saka.api.handlers.exception_handler"}

The views of :mod:`django_saka.api` answer ``SakaError`` this way whatever the
setting says, and hand every other exception to the handler the setting names.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as rest_framework_handler

from ..exceptions import SakaError
from .errors import saka_error_answer

logger = logging.getLogger("django_saka.api")


def saka_error_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """The response for a ``SakaError``, else None (not an error of django-saka)."""
    if not isinstance(error, SakaError):
        return None
    answer = saka_error_answer(error)
    if answer.status >= 500:
        # The client gets a fixed sentence; the cause belongs in the server's log.
        logger.error("%s answered %s", type(error).__name__, answer.status, exc_info=error)
    return Response(answer.body, status=answer.status)


def exception_handler(error: Exception, context: dict[str, Any]) -> Response | None:
    """``SakaError`` as :func:`django_saka.api.errors.saka_error_answer` says, anything
    else as REST framework's own handler does."""
    return saka_error_handler(error, context) or rest_framework_handler(error, context)
