"""A separate process the fault tests start, kill and restart.

    python -m tests.cycle_worker migrate
    python -m tests.cycle_worker seed ELIGIBLE INELIGIBLE
    python -m tests.cycle_worker compost CHUNK_SIZE [LEASE_SECONDS [AS_OF_ISO]]
    python -m tests.cycle_worker check        (prints a JSON summary)

The database comes from SAKA_TEST_DB and SAKA_TEST_DB_NAME (see tests/settings.py).
With SAKA_TEST_PAUSE_AFTER_CHUNK=k, ``compost`` stops after chunk k (a
``cycle_chunk_done`` receiver of this worker sleeps), so the test can kill it there.
"""

from __future__ import annotations

import json
import os
import sys


def _pause_after_chunk(signals, pause_after: int) -> None:
    """Sleep, after the chunk numbered ``pause_after`` is committed, until killed."""
    if not pause_after:
        return
    import time

    def pause(sender, chunk, **kwargs):
        if chunk >= pause_after:
            time.sleep(3600)

    signals.cycle_chunk_done.connect(pause, weak=False)


def main(command: str, *args: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Count, Max, Sum
    from django.test import override_settings
    from django.utils import timezone

    from django_saka import services, signals
    from django_saka.models import CycleRun, Transaction
    from tests.factories import seed_wallets

    if command == "migrate":
        call_command("migrate", verbosity=0)
    elif command == "seed":
        eligible, ineligible = int(args[0]), int(args[1])
        # Never active: eligible in every period, back-dated ones included.
        seed_wallets([1_000_000] * eligible, last_activity_at=None)
        seed_wallets([100] * ineligible, last_activity_at=timezone.now())
    elif command == "compost":
        from django.utils.dateparse import parse_datetime

        _pause_after_chunk(signals, int(os.environ.get("SAKA_TEST_PAUSE_AFTER_CHUNK") or 0))
        lease = int(args[1]) if len(args) > 1 else 120
        as_of = parse_datetime(args[2]) if len(args) > 2 else None
        with override_settings(SAKA={"RUN_LEASE_SECONDS": lease}):
            report = services.compost(chunk_size=int(args[0]), now=as_of, source="worker")
        print(json.dumps({"status": report.status, "resumed": report.resumed}))
    elif command == "check":
        per_user = Transaction.objects.filter(reason="compost").values("user_id")
        per_user = per_user.annotate(n=Count("id"))
        audit = services.audit_ledger()
        print(
            json.dumps(
                {
                    "audit_ok": audit.ok,
                    "audit": str(audit),
                    "composted_wallets": per_user.count(),
                    "max_per_wallet": per_user.aggregate(m=Max("n"))["m"] or 0,
                    "runs": [
                        [status, chunks or 0]
                        for status, chunks in CycleRun.objects.order_by("pk")
                        .annotate(chunks=Sum("shards__chunks_done"))
                        .values_list("status", "chunks")
                    ],
                    "composted_per_run": [
                        Transaction.objects.filter(run=run, reason="compost").count()
                        for run in CycleRun.objects.order_by("pk")
                    ],
                }
            )
        )
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
