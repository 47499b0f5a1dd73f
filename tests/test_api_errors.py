"""Every SakaError as an HTTP answer (django_saka.api.errors), for the host's own views
that call harvest() and spend(): the status, and a body a front end can act on."""

from __future__ import annotations

import inspect
import json
import logging

import pytest
from rest_framework.exceptions import NotFound

from django_saka import exceptions, services
from django_saka.api.errors import (
    ERROR_STATUS,
    error_code,
    saka_error_answer,
    saka_error_response,
)
from django_saka.api.handlers import exception_handler
from django_saka.exceptions import (
    ConcurrencyError,
    CycleFailed,
    DailyLimitReached,
    InsufficientBalance,
    SakaError,
)
from django_saka.services import CycleReport

SAKA_ERRORS = [
    klass
    for _, klass in inspect.getmembers(exceptions, inspect.isclass)
    if issubclass(klass, SakaError)
]


def test_every_error_of_the_app_has_its_status_chosen_on_purpose():
    assert set(SAKA_ERRORS) == set(ERROR_STATUS)


def test_error_codes_are_the_class_names_in_snake_case():
    assert error_code(DailyLimitReached) == "daily_limit_reached"
    assert error_code(SakaError) == "saka_error"
    assert len({error_code(klass) for klass in SAKA_ERRORS}) == len(SAKA_ERRORS)


@pytest.mark.django_db
def test_the_refusals_of_harvest_and_spend_say_what_a_front_end_needs(user):
    for _ in range(3):
        services.harvest(user, "content_read")
    with pytest.raises(DailyLimitReached) as limit:
        services.harvest(user, "content_read")
    with pytest.raises(InsufficientBalance) as poor:
        services.spend(user, 100, "support")
    with pytest.raises(exceptions.UnknownReason) as unknown:
        services.harvest(user, "sunbathing")
    with pytest.raises(exceptions.IdempotencyConflict) as conflict:
        services.spend(user, 5, "support", idempotency_key="k")
        services.spend(user, 6, "support", idempotency_key="k")

    assert saka_error_answer(limit.value).status == 429
    assert saka_error_answer(limit.value).body == {
        "error": "daily_limit_reached",
        "detail": str(limit.value),
        "reason": "content_read",
        "limit": 3,
        "kind": "count",
    }
    assert saka_error_answer(poor.value).status == 409
    assert saka_error_answer(poor.value).body == {
        "error": "insufficient_balance",
        "detail": str(poor.value),
        "balance": 30,
        "requested": 100,
    }
    assert saka_error_answer(unknown.value).status == 400
    assert saka_error_answer(unknown.value).body["error"] == "unknown_reason"
    assert "sunbathing" in saka_error_answer(unknown.value).body["detail"]
    assert saka_error_answer(conflict.value).status == 409


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (exceptions.InvalidAmount("no"), 400),
        (exceptions.SupplyLimitReached("full"), 409),
        (exceptions.InactiveUser("off"), 403),
        (exceptions.CycleAlreadyRunning("busy", run_id=7), 409),
        (exceptions.WalletDeletionRefused("no"), 409),
        (exceptions.LedgerIsAppendOnly("no"), 500),
    ],
)
def test_each_refusal_has_its_status(error, status):
    assert saka_error_answer(error).status == status


def test_a_server_error_keeps_its_internals_to_itself():
    report = CycleReport(kind="compost", status="failed", run_id=12, error="OperationalError('x')")
    failed = saka_error_answer(
        CycleFailed("compost run 12 failed: OperationalError('x')", report=report)
    )
    assert failed.status == 500
    assert failed.body == {
        "error": "cycle_failed",
        "detail": "The run failed; the chunks it committed stay and the next start resumes it.",
        "run_id": 12,
    }
    busy = saka_error_answer(ConcurrencyError("deadlock detected on relation 16384"))
    assert (busy.status, busy.body["detail"]) == (503, "The database stayed busy; try again.")


def test_a_hosts_own_subclass_answers_like_its_parent():
    class NotTodayPlease(InsufficientBalance):
        pass

    answer = saka_error_answer(NotTodayPlease("poor", balance=1, requested=2))
    assert (answer.status, answer.body["error"], answer.body["balance"]) == (
        409,
        "insufficient_balance",
        1,
    )


def test_a_plain_view_answers_with_a_json_response():
    response = saka_error_response(DailyLimitReached("enough", reason="poll_vote", limit=10))
    assert response.status_code == 429
    assert json.loads(response.content)["limit"] == 10


def test_the_rest_framework_handler_answers_saka_errors_and_passes_the_rest_on(caplog):
    answer = exception_handler(InsufficientBalance("poor", balance=0, requested=5), {})
    assert (answer.status_code, answer.data["requested"]) == (409, 5)
    not_found = exception_handler(NotFound("no such thing"), {})
    assert (not_found.status_code, not_found.data) == (404, {"detail": "no such thing"})
    assert exception_handler(KeyError("a bug"), {}) is None  # REST framework re-raises it
    with caplog.at_level(logging.ERROR, logger="django_saka.api"):
        exception_handler(ConcurrencyError("deadlock detected"), {})
    assert "ConcurrencyError answered 503" in caplog.text
