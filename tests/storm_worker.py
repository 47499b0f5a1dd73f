"""One storm process: mixed harvests, spends and idempotent retries on shared wallets.

    python -m tests.storm_worker SEED INDEX OPERATIONS USER_IDS_FILE

Prints a JSON summary: writes acknowledged, refusals, retries answered, and any
unexpected error (which fails the storm test).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

STORM_SETTINGS = {
    "REASONS": {"tick": {"reward": 3}, "manual_adjust": {"reward": None, "max_amount": 10**6}},
    "COMPOST": {"MIN_BALANCE": 10, "MIN_AMOUNT": 1},
    "REDISTRIBUTION": {"RATE": "0.5"},
}
HOT = 10


def main(seed: int, index: int, operations: int, users_file: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import override_settings

    from django_saka import services
    from django_saka.exceptions import InsufficientBalance

    user_ids = json.loads(Path(users_file).read_text())
    user_model = get_user_model()
    rng = random.Random(seed * 1000 + index)
    done: list[tuple] = []  # (user_id, kind, amount, key, row id)
    summary = {
        "acknowledged": 0,
        "harvests": 0,
        "spends": 0,
        "insufficient": 0,
        "retries": 0,
        "errors": [],
    }
    with override_settings(SAKA=STORM_SETTINGS):
        for number in range(operations):
            try:
                if done and rng.random() < 0.15:  # a client retries an earlier request
                    user_id, kind, amount, key, row_id = rng.choice(done)
                    row = _call(services, user_model(pk=user_id), kind, amount, key)
                    if row.pk != row_id:
                        summary["errors"].append(f"retry {key} answered {row.pk}, not {row_id}")
                    summary["retries"] += 1
                    continue
                hot = rng.random() < 0.2
                user_id = rng.choice(user_ids[:HOT] if hot else user_ids)
                kind = "harvest" if rng.random() < 0.55 else "spend"
                amount = 3 if kind == "harvest" else rng.randint(1, 40)
                key = f"storm-{seed}-{index}-{number}"
                try:
                    row = _call(services, user_model(pk=user_id), kind, amount, key)
                except InsufficientBalance:
                    summary["insufficient"] += 1
                    continue
                done.append((user_id, kind, amount, key, row.pk))
                summary["acknowledged"] += 1
                summary[kind + "s"] += 1
            except Exception as error:  # anything else reaching the caller is a failure
                summary["errors"].append(repr(error))
    print(json.dumps(summary))


def _call(services, user, kind, amount, key):
    if kind == "harvest":
        return services.harvest(user, "tick", idempotency_key=key)
    return services.spend(user, amount, "plant", idempotency_key=key)


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
