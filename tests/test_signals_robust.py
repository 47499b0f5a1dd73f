"""A failing signal receiver can neither undo nor repeat a committed change."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from django_saka import services, signals
from django_saka.models import Transaction
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "error",
    [OperationalError("database is locked"), RuntimeError("receiver bug")],
    ids=["retryable-looking", "plain"],
)
def test_a_raising_harvest_receiver_is_logged_not_retried(user, error, caplog):
    def broken(sender, **kwargs):
        raise error

    signals.harvested.connect(broken, dispatch_uid="broken")
    try:
        row = services.harvest(user, "content_read")
    finally:
        signals.harvested.disconnect(dispatch_uid="broken")
    assert row is not None
    assert Transaction.objects.count() == 1 and services.get_balance(user).balance == 10
    assert any("broken" in record.getMessage() for record in caplog.records)


def test_a_raising_cycle_receiver_does_not_fail_the_run():
    from datetime import timedelta

    from django.utils import timezone

    seed_wallets([100, 100], last_activity_at=timezone.now() - timedelta(days=365))

    def broken(sender, **kwargs):
        raise RuntimeError("dashboard down")

    for signal in (signals.cycle_started, signals.cycle_chunk_done, signals.cycle_finished):
        signal.connect(broken, dispatch_uid="broken")
    try:
        report = services.compost(chunk_size=1)
    finally:
        for signal in (signals.cycle_started, signals.cycle_chunk_done, signals.cycle_finished):
            signal.disconnect(dispatch_uid="broken")
    assert report.status == "completed" and report.wallets_affected == 2
