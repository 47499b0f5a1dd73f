"""The hot path sends a fixed, small number of statements per call, on every backend:
a harvest after a wallet's first one sends four (lock the wallet, count today's
harvests and find an earlier row with the idempotency key in one, insert the ledger
row, update the wallet), a spend three. On PostgreSQL the ledger row and the wallet
update are one statement, so each call sends one fewer. BEGIN, COMMIT and savepoints
are not counted."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from django_saka import services

pytestmark = pytest.mark.django_db

_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")
# The ledger insert and the wallet update: one statement on PostgreSQL.
WRITE = 1 if connection.vendor == "postgresql" else 2


def _statements(call):
    with CaptureQueriesContext(connection) as captured:
        result = call()
    sent = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(_CONTROL)]
    return result, sent


def test_a_harvest_after_the_first_sends_at_most_four_statements(user):
    _, first = _statements(lambda: services.harvest(user, "poll_vote"))
    _, later = _statements(lambda: services.harvest(user, "poll_vote"))
    assert len(later) == 2 + WRITE, later
    # The first creates the wallet and takes its allowance from the silo.
    assert len(first) <= 9, first


def test_a_keyed_harvest_sends_as_many(user):
    services.harvest(user, "poll_vote", idempotency_key="vote-1")
    row, sent = _statements(lambda: services.harvest(user, "poll_vote", idempotency_key="vote-2"))
    assert len(sent) == 2 + WRITE, sent
    assert row.replayed is False and services.get_balance(user).balance == 10


def test_a_replayed_harvest_sends_three(user):
    first = services.harvest(user, "poll_vote", idempotency_key="vote-1")
    again, sent = _statements(lambda: services.harvest(user, "poll_vote", idempotency_key="vote-1"))
    assert again.pk == first.pk and again.replayed is True
    assert len(sent) == 3, sent  # lock, count and key, the earlier row


def test_a_harvest_without_a_daily_cap_does_not_count(user, settings):
    settings.SAKA = {"REASONS": {"tick": {"reward": 1}}}
    services.harvest(user, "tick")
    _, sent = _statements(lambda: services.harvest(user, "tick"))
    assert len(sent) == 1 + WRITE, sent


def test_a_spend_sends_the_lock_and_the_write(user):
    services.harvest(user, "manual_adjust", amount=100)
    _, sent = _statements(lambda: services.spend(user, 10, "plant"))
    assert len(sent) == 1 + WRITE, sent
    _, keyed = _statements(lambda: services.spend(user, 10, "plant", idempotency_key="p-1"))
    assert len(keyed) == 2 + WRITE, keyed  # the key's lookup is a statement of its own


def test_the_returned_row_is_the_stored_row(user):
    """The row a harvest returns is built without reading it back: it must equal it."""
    from django_saka.models import Transaction

    row = services.harvest(user, "manual_adjust", amount=7, metadata={"why": "test", "n": [1]})
    stored = Transaction.objects.get(pk=row.pk)
    fields = ["user_id", "direction", "amount", "reason", "metadata", "created_at"]
    fields += ["idempotency_key", "content_type_id", "object_id", "run_id"]
    assert {f: getattr(row, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert row._state.adding is False and row._state.db == stored._state.db
