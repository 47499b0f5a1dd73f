"""A chunk sends a fixed number of statements, whatever its size: one on PostgreSQL,
six on the portable path, for both kinds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from django_saka import services
from django_saka.cycles import engine
from django_saka.cycles.chunk import run_chunk
from django_saka.cycles.kinds import KINDS
from django_saka.db import Dialect
from django_saka.models import CycleRun
from django_saka.services.compost import plan_compost
from django_saka.services.redistribution import plan_redistribution
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

EXPECTED = 1 if connection.vendor == "postgresql" else 6


def _statements_of_first_chunk(plan, size):
    dialect = Dialect()
    launched = engine.launch(plan)
    run = CycleRun.objects.get(pk=launched.report.run_id)
    shard = engine.take_shard(run, 1, dialect.using)
    kind = KINDS[run.kind](run)
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        result = run_chunk(kind, shard, size, dialect)
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE SAVEPOINT")
    sent = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(control)]
    return len(result.user_ids), len(sent)


@pytest.mark.parametrize("size", [1, 1000])
def test_a_compost_chunk(size):
    seed_wallets([500] * 1200, last_activity_at=timezone.now() - timedelta(days=400))
    moved, sent = _statements_of_first_chunk(plan_compost(chunk_size=size), size)
    assert moved == size and sent == EXPECTED


@pytest.mark.parametrize("size", [1, 1000])
def test_a_redistribution_chunk(size):
    seed_wallets([5000] * 10, last_activity_at=timezone.now() - timedelta(days=400))
    services.compost()
    seed_wallets([10] * 1200, last_activity_at=timezone.now() - timedelta(days=1))
    moved, sent = _statements_of_first_chunk(plan_redistribution(rate="1", chunk_size=size), size)
    assert moved == size and sent == EXPECTED
