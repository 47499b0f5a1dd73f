"""Create the schema and seed N members into the benchmark database (a template).

python -m benchmarks.prepare MEMBERS [--allowances]

``--allowances`` also gives every wallet its block of harvest allowance
(``seeding.grant_allowances``), as the hot-path benchmark wants.
"""

from __future__ import annotations

import os
import sys
import time


def main(members: int, allowances: bool = False) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from benchmarks.seeding import create_minimal_ledger, grant_allowances, seed

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seed(connection, members)
    if allowances:
        grant_allowances(connection)
    create_minimal_ledger(connection)  # for the minimal-ledger floors
    print(f"seeded {members:,} members in {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), "--allowances" in sys.argv[2:])
