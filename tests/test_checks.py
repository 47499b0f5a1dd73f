"""System checks catch every kind of settings mistake at start-up, each with a hint."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from django_saka import conf, rates
from django_saka.checks import check_saka_settings


def _ids(saka, **extra):
    with override_settings(SAKA=saka, **extra):
        errors = check_saka_settings()
    assert all(error.hint for error in errors)
    return sorted({error.id for error in errors})


def test_defaults_are_valid():
    assert _ids({}) == []


@pytest.mark.parametrize(
    ("saka", "expected"),
    [
        ("not a dict", "django_saka.E001"),
        ({"ENABLD": True}, "django_saka.E002"),
        ({"COMPOST": {"RATE": "0.1", "INACTIVE_DAYS": 3}}, "django_saka.E002"),
        ({"SCHEDULES": {"compst": "0 3 * * 1"}}, "django_saka.E002"),
        ({"ENABLED": "yes"}, "django_saka.E003"),
        ({"COMPOST": []}, "django_saka.E003"),
        ({"SCHEDULES": {"compost": "every monday"}}, "django_saka.E003"),
        ({"COMPOST": {"RATE": "1.01"}}, "django_saka.E004"),
        ({"COMPOST": {"RATE": -0.01}}, "django_saka.E004"),
        ({"REDISTRIBUTION": {"RATE": "abc"}}, "django_saka.E004"),
        ({"REDISTRIBUTION": {"RATE": float("nan")}}, "django_saka.E004"),
        ({"REDISTRIBUTION": {"RATE": True}}, "django_saka.E004"),
        ({"COMPOST": {"INACTIVITY_DAYS": -1}}, "django_saka.E005"),
        ({"COMPOST": {"MIN_BALANCE": 2.5}}, "django_saka.E005"),
        ({"CHUNK_SIZE": 0}, "django_saka.E005"),
        ({"NOTIFICATIONS": {"ENABLED": "yes"}}, "django_saka.E003"),
        ({"NOTIFICATIONS": {"BATCH_SIZE": 0}}, "django_saka.E005"),
        ({"NOTIFICATIONS": {"FROM_EMAIL": ""}}, "django_saka.E003"),
        ({"NOTIFICATIONS": {"LANGUAGE_FIELD": 3}}, "django_saka.E003"),
        ({"NOTIFICATIONS": {"BATCHSIZE": 10}}, "django_saka.E002"),
        ({"NOTIFICATIONS": "on"}, "django_saka.E003"),
        ({"REASONS": {}}, "django_saka.E006"),
        ({"REASONS": {"read": {"reward": 1, "dayly_limit": 3}}}, "django_saka.E006"),
        ({"REASONS": {"read": 10}}, "django_saka.E006"),
        ({"REASONS": {"read": {"reward": 0}}}, "django_saka.E007"),
        ({"REASONS": {"read": {"reward": "10"}}}, "django_saka.E007"),
        ({"REASONS": {"read": {"daily_limit": 3}}}, "django_saka.E007"),
        ({"REASONS": {"read": {"reward": 1, "daily_limit": -3}}}, "django_saka.E008"),
        ({"REASONS": {"read": {"reward": 1, "daily_amount": 1.5}}}, "django_saka.E008"),
        ({"REASONS": {"compost": {"reward": 1}}}, "django_saka.E009"),
        ({"REASONS": {"read": {"reward": 10, "max_amount": 5}}}, "django_saka.E008"),
        ({"REASONS": {"read": {"reward": 10, "daily_amount": 5}}}, "django_saka.E008"),
    ],
)
def test_each_mistake_has_its_own_id(saka, expected):
    assert _ids(saka) == [expected]


def test_use_tz_is_required():
    assert _ids({}, USE_TZ=False) == ["django_saka.E010"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0.1", "1/10"), (0.1, "1/10"), ("1", "1"), (0, "0"), ("0.05", "1/20")],
)
def test_rates_become_exact_fractions(value, expected):
    assert str(rates.parse_rate(value)) == expected


def test_floor_share_is_integer_arithmetic():
    rate = rates.parse_rate("0.1")
    assert rates.floor_share(2**63 - 1, rate) == (2**63 - 1) // 10
    assert rates.floor_share(99, rate) == 9


def test_bad_setting_slipping_past_checks_fails_loudly_at_use():
    with override_settings(SAKA={"COMPOST": {"RATE": "2"}}), pytest.raises(ImproperlyConfigured):
        conf.compost()


def test_reasons_that_are_not_a_dict_fail_loudly_at_use():
    with (
        override_settings(SAKA={"REASONS": ["content_read"]}),
        pytest.raises(ImproperlyConfigured, match="E006"),
    ):
        conf.reasons()


def test_settings_are_read_at_call_time():
    with override_settings(SAKA={"CHUNK_SIZE": 7}):
        assert conf.chunk_size() == 7
    assert conf.chunk_size() == 1000


def _q_ids(**settings):
    from django_saka.checks import check_django_q

    with override_settings(**settings):
        return sorted(message.id for message in check_django_q())


def test_schedules_without_django_q_is_a_warning():
    assert _q_ids(
        SAKA={"SCHEDULES": {"compost": "0 3 * * 1"}},
        INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes", "django_saka"],
    ) == ["django_saka.W001"]
    assert _q_ids(SAKA={"SCHEDULES": {"compost": "0 3 * * 1"}}) == []


@pytest.mark.parametrize(
    ("retry", "timeout", "ids"),
    [(60, 60, ["django_saka.E011"]), (90, 60, ["django_saka.W003"]), (181, 60, [])],
)
def test_retry_must_be_larger_than_timeout(retry, timeout, ids):
    assert _q_ids(Q_CLUSTER={"retry": retry, "timeout": timeout}) == ids


@pytest.mark.django_db
def test_a_cycle_longer_than_the_task_timeout_is_a_warning():
    from datetime import timedelta

    from django.utils import timezone

    from django_saka.checks import check_cycle_durations
    from django_saka.models import CycleRun

    started = timezone.now() - timedelta(minutes=10)
    CycleRun.objects.create(
        kind="compost", status="completed", started_at=started, finished_at=timezone.now()
    )
    with override_settings(Q_CLUSTER={"timeout": 300, "retry": 400}):
        assert [m.id for m in check_cycle_durations(databases=["default"])] == ["django_saka.W002"]
        assert check_cycle_durations() == []  # without a database, not checked
    with override_settings(Q_CLUSTER={"timeout": 900, "retry": 1000}):
        assert check_cycle_durations(databases=["default"]) == []
