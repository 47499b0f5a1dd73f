"""A whole season under a custom user model keyed by ``member_key`` (not ``id``).

    DJANGO_SETTINGS_MODULE=tests.settings_custom_user python -m tests.custom_user_worker

Migrates the database named by SAKA_TEST_DB_NAME, harvests, spends, composts,
redistributes and deletes a member (on PostgreSQL the ledger trigger looks the user
up by its key column at commit), then prints a JSON summary.
"""

from __future__ import annotations

import json
import os
from datetime import timedelta


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_custom_user")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from django_saka import services
    from django_saka.models import Transaction, Wallet

    call_command("migrate", verbosity=0)
    members = [get_user_model().objects.create_user(f"m{i}") for i in range(4)]
    for member in members:
        services.harvest(member, "manual_adjust", amount=400)
    services.spend(members[0], 50, "plant")
    Wallet.objects.filter(user__in=members[2:]).update(
        last_activity_at=timezone.now() - timedelta(days=400)
    )
    get_user_model().objects.filter(pk=members[1].pk).update(is_active=False)
    compost = services.compost(shards=2)
    redistribution = services.redistribute(rate="1")
    members[1].delete()
    audit = services.audit_ledger()
    print(
        json.dumps(
            {
                "audit_ok": audit.ok,
                "audit": str(audit),
                "composted": compost.wallets_affected,
                "credited": redistribution.wallets_affected,
                "closed": Transaction.objects.filter(reason="account_closed").count(),
                "orphan_rows": Transaction.objects.filter(user__isnull=True).count(),
            }
        )
    )


if __name__ == "__main__":
    main()
