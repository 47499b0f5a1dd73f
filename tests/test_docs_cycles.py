"""The code examples of docs/cycles.md run as written."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.factories import seed_wallets

CYCLES_DOCS = Path(__file__).resolve().parent.parent / "docs" / "cycles.md"

pytestmark = pytest.mark.django_db


def _python_blocks() -> list[str]:
    text = CYCLES_DOCS.read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```$", text, re.M | re.S)


def test_the_compostable_example_counts_what_the_dry_run_plans():
    seed_wallets([500, 500, 5], last_activity_at=timezone.now() - timedelta(days=400))
    (block,) = _python_blocks()
    namespace: dict = {}
    exec(compile(block, f"{CYCLES_DOCS}", "exec"), namespace)
    rule, wallets = namespace["rule"], namespace["Wallet"]
    from django_saka import services

    assert (
        wallets.objects.compostable(rule).count() == services.compost(dry_run=True).planned_wallets
    )
    assert services.compost(dry_run=True).planned_wallets == 2
