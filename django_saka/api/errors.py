"""Every :class:`~django_saka.exceptions.SakaError` as an HTTP answer: a status code and
a JSON body.

Needs Django only, not REST framework: a plain view calling ``services.harvest()``
or ``services.spend()`` can answer with :func:`saka_error_response`, and the REST
framework exception handler (:mod:`django_saka.api.handlers`) uses the same table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.http import JsonResponse

from ..exceptions import (
    ConcurrencyError,
    CycleAlreadyRunning,
    CycleFailed,
    DailyLimitReached,
    IdempotencyConflict,
    InactiveUser,
    InsufficientBalance,
    InvalidAmount,
    InvalidInput,
    InvalidRate,
    InvalidUser,
    LedgerAuditFailed,
    LedgerIsAppendOnly,
    SakaError,
    SupplyLimitReached,
    UnknownReason,
    WalletDeletionRefused,
)

# One entry per error class, subclasses included (a test checks that every class of
# django_saka.exceptions is here): a new error must get its status on purpose, not
# inherit one by accident.
ERROR_STATUS: dict[type[SakaError], int] = {
    SakaError: 400,
    # Bad arguments: the same request will be refused again.
    InvalidInput: 400,
    InvalidAmount: 400,
    InvalidRate: 400,
    InvalidUser: 400,
    UnknownReason: 400,
    # A state of the ledger refuses the request, not its form.
    SupplyLimitReached: 409,
    InsufficientBalance: 409,
    IdempotencyConflict: 409,
    CycleAlreadyRunning: 409,
    WalletDeletionRefused: 409,
    InactiveUser: 403,
    # Allowed again tomorrow.
    DailyLimitReached: 429,
    # The database stayed busy: the same request may succeed if retried.
    ConcurrencyError: 503,
    # The server's failures, not the caller's.
    CycleFailed: 500,
    LedgerIsAppendOnly: 500,
    LedgerAuditFailed: 500,
}

# A server error's own message may quote database errors or internal state: the
# client gets this instead (the exception itself still reaches the host's logging).
_SERVER_ERROR_DETAIL: dict[type[SakaError], str] = {
    ConcurrencyError: "The database stayed busy; try again.",
    CycleFailed: "The run failed; the chunks it committed stay and the next start resumes it.",
}
_GENERIC_SERVER_ERROR = "The server could not complete this request."


@dataclass(frozen=True)
class ErrorAnswer:
    """The HTTP answer to one error: ``status`` and a JSON-serialisable ``body``."""

    status: int
    body: dict[str, Any]


def error_code(error_class: type[SakaError]) -> str:
    """The machine-readable name of an error class: ``DailyLimitReached`` is
    ``"daily_limit_reached"``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", error_class.__name__).lower()


def _known_class(error: SakaError) -> type[SakaError]:
    """The nearest class of ``error`` in the table: a host's own subclass of, say,
    InsufficientBalance answers like InsufficientBalance, with its code."""
    return next(klass for klass in type(error).__mro__ if klass in ERROR_STATUS)


def _details(error: SakaError) -> dict[str, Any]:
    """The error's attributes a client can act on."""
    if isinstance(error, DailyLimitReached):
        return {"reason": error.reason, "limit": error.limit, "kind": error.kind}
    if isinstance(error, InsufficientBalance):
        return {"balance": error.balance, "requested": error.requested}
    if isinstance(error, CycleAlreadyRunning):
        return {"run_id": error.run_id}
    if isinstance(error, CycleFailed):
        return {"run_id": getattr(error.report, "run_id", None)}
    return {}


def saka_error_answer(error: SakaError) -> ErrorAnswer:
    """The status code and JSON body for ``error``.

    The body is ``{"error": code, "detail": message, ...}``: ``code`` is
    :func:`error_code` of the error's class (of the nearest django-saka class, for a
    subclass of the host's), ``detail`` its message (for a 5xx, a
    fixed sentence instead), plus the attributes a client can act on
    (``DailyLimitReached``: ``reason``, ``limit``, ``kind``; ``InsufficientBalance``:
    ``balance``, ``requested``; ``CycleAlreadyRunning`` and ``CycleFailed``: ``run_id``).
    """
    known = _known_class(error)
    status = ERROR_STATUS[known]
    if status >= 500:
        detail = next(
            (text for klass, text in _SERVER_ERROR_DETAIL.items() if isinstance(error, klass)),
            _GENERIC_SERVER_ERROR,
        )
    else:
        detail = str(error)
    return ErrorAnswer(
        status=status,
        body={"error": error_code(known), "detail": detail, **_details(error)},
    )


def saka_error_response(error: SakaError) -> JsonResponse:
    """:func:`saka_error_answer` as a Django ``JsonResponse``, for plain views."""
    answer = saka_error_answer(error)
    return JsonResponse(answer.body, status=answer.status)
