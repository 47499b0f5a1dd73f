"""A large reasons table costs nothing per harvest and never floods an error message."""

from __future__ import annotations

import pytest
from django.test import override_settings

from django_saka import services
from django_saka.conf import rules
from django_saka.exceptions import UnknownReason

pytestmark = pytest.mark.django_db

MANY = {f"reason_{i:06d}": {"reward": 1} for i in range(100_000)}


@pytest.fixture
def validations(monkeypatch):
    """Counts how often the whole reasons table is validated."""
    calls = {"n": 0}
    real = rules.reasons_table_problems

    def spy(table):
        calls["n"] += 1
        return real(table)

    monkeypatch.setattr(rules, "reasons_table_problems", spy)
    return calls


def test_the_table_is_validated_once_per_settings_value(user, validations):
    with override_settings(SAKA={"REASONS": MANY}):
        for _ in range(5):
            services.harvest(user, "reason_099999")
        assert validations["n"] == 1
    with override_settings(SAKA={"REASONS": {**MANY, "one_more": {"reward": 2}}}):
        services.harvest(user, "one_more")
        services.harvest(user, "one_more")
        assert validations["n"] == 2  # a new settings value is validated again, once
    assert services.get_balance(user).balance == 5 + 2 * 2


def test_an_unknown_reason_names_a_few_and_counts_the_rest(user):
    with override_settings(SAKA={"REASONS": MANY}), pytest.raises(UnknownReason) as caught:
        services.harvest(user, "nope")
    message = str(caught.value)
    assert len(message) < 600, len(message)
    assert "reason_000000, reason_000001" in message
    assert "reason_000019 and 99,980 more" in message
    assert "reason_000020" not in message


def test_a_small_table_is_listed_whole(user):
    with pytest.raises(UnknownReason, match="content_read, invest_bonus") as caught:
        services.harvest(user, "nope")
    assert "more" not in str(caught.value)
