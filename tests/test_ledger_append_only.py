"""The ledger is append-only for application code."""

from __future__ import annotations

import pytest

from django_saka import services
from django_saka.exceptions import LedgerIsAppendOnly, SakaError
from django_saka.models import Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def row(user):
    return services.harvest(user, "content_read")


def test_saving_an_existing_row_is_refused(row):
    row.amount = 1000
    with pytest.raises(LedgerIsAppendOnly, match="append-only"):
        row.save()


def test_deleting_a_row_is_refused(row):
    with pytest.raises(LedgerIsAppendOnly):
        row.delete()


@pytest.mark.parametrize(
    "action",
    [
        lambda qs: qs.update(amount=1),
        lambda qs: qs.delete(),
        lambda qs: qs.bulk_update(list(qs), ["amount"]),
        lambda qs: qs.update_or_create(pk=1, defaults={"amount": 1}),
    ],
    ids=["update", "delete", "bulk_update", "update_or_create"],
)
def test_queryset_writes_are_refused(row, action):
    with pytest.raises(LedgerIsAppendOnly):
        action(Transaction.objects.all())
    assert Transaction.objects.get(pk=row.pk).amount == 10


def test_append_only_error_is_a_saka_error():
    assert issubclass(LedgerIsAppendOnly, SakaError)
