"""One process of a hot-path variant: harvests and spends on random members.

    python -m benchmarks.hot_path_worker VARIANT MEMBERS SECONDS INDEX PROCESSES
    python -m benchmarks.hot_path_worker audit

VARIANT is ``saka`` (``services.harvest`` and ``services.spend``) or ``floor`` (the
same work as plain SQL, see :class:`Floor`). The process sets Django up, connects,
makes a few warm-up calls, prints "ready", waits for a line on stdin (the start
signal all processes of a variant get at once), then calls for SECONDS: a harvest
(4 in 5) or a spend of one grain (1 in 5), each on a member picked at random among
its own share of the population (the members whose ``(id - 1) % PROCESSES`` is INDEX),
so it knows exactly which harvest is a wallet's first of the day. It prints one JSON
object: calls, latencies (seconds), statements per call (BEGIN and COMMIT are not
statements: Django sends them outside ``execute_wrapper``), errors by type.

``audit`` prints the ledger audit of the database as one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections import Counter

HARVEST_SHARE = 0.8
REASON = "bench_hot"  # benchmarks/settings.py: reward 1, daily limit 1,000,000
SPEND_REASON = "bench_spend"
DAILY_LIMIT = 1_000_000
WARM_UP_CALLS = 10
_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


class Floor:
    """The same work as django-saka's harvest and spend, as plain SQL, one transaction
    per call on the same Django connection (same driver, same settings).

    Harvest: lock the wallet row, count the member's harvests of the reason today,
    insert the ledger row, update the wallet (balance, lifetime total, allowance,
    activity time): four statements. Spend: lock, insert, update: three. The seeded
    wallets hold a harvest allowance already (``seeding.grant_allowances``), as they do
    for django-saka, so neither touches the silo.
    """

    def __init__(self) -> None:
        from django.db import connection

        from django_saka.constants import ALLOWANCE_BLOCK
        from django_saka.db import Dialect
        from django_saka.models import Transaction, Wallet

        dialect = Dialect()
        self.connection = connection
        self.block = ALLOWANCE_BLOCK
        wallet, ledger = dialect.table(Wallet), dialect.table(Transaction)
        self.lock = (
            f"SELECT id, balance, allowance FROM {wallet} WHERE user_id = %s {dialect.lock_rows}"
        )
        self.count = (
            f"SELECT COUNT(*) FROM {ledger} WHERE user_id = %s AND reason = %s"
            " AND direction = 'earn' AND created_at >= %s"
        )
        self.insert = (
            f"INSERT INTO {ledger} (user_id, direction, amount, reason, metadata, created_at)"
            " VALUES (%s, %s, %s, %s, '{}', %s)"
        )
        self.credit = (
            f"UPDATE {wallet} SET balance = balance + %s, total_harvested = total_harvested + %s,"
            " allowance = allowance - %s, last_activity_at = %s, modified = %s WHERE id = %s"
        )
        self.debit = (
            f"UPDATE {wallet} SET balance = balance - %s, total_spent = total_spent + %s,"
            " allowance = %s, last_activity_at = %s, modified = %s WHERE id = %s"
        )

    def harvest(self, user_id: int, amount: int = 1) -> None:
        from django.db import transaction

        from django_saka.clock import local_midnight

        adapt = self.connection.ops.adapt_datetimefield_value
        now = time_now()
        with transaction.atomic(), self.connection.cursor() as cursor:
            cursor.execute(self.lock, [user_id])
            wallet_id, _, allowance = cursor.fetchone()
            cursor.execute(self.count, [user_id, REASON, adapt(local_midnight(now))])
            if cursor.fetchone()[0] >= DAILY_LIMIT:
                raise RuntimeError("daily limit reached")
            if allowance < amount:
                raise RuntimeError("the floor grants no allowance: seed with grant_allowances")
            cursor.execute(self.insert, [user_id, "earn", amount, REASON, adapt(now)])
            cursor.execute(self.credit, [amount, amount, amount, adapt(now), adapt(now), wallet_id])

    def spend(self, user_id: int, amount: int = 1) -> None:
        from django.db import transaction

        adapt = self.connection.ops.adapt_datetimefield_value
        now = time_now()
        with transaction.atomic(), self.connection.cursor() as cursor:
            cursor.execute(self.lock, [user_id])
            wallet_id, balance, allowance = cursor.fetchone()
            if balance < amount:
                raise RuntimeError("insufficient balance")
            cursor.execute(self.insert, [user_id, "spend", amount, SPEND_REASON, adapt(now)])
            allowance = min(allowance + amount, self.block)
            cursor.execute(
                self.debit, [amount, amount, allowance, adapt(now), adapt(now), wallet_id]
            )


def time_now():
    from django_saka import clock

    return clock.now()


class Saka:
    """The library's own calls, on a user instance built from the id (no query)."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from django_saka import services

        self.user_model = get_user_model()
        self.services = services

    def harvest(self, user_id: int) -> None:
        self.services.harvest(self.user_model(pk=user_id), REASON)

    def spend(self, user_id: int) -> None:
        self.services.spend(self.user_model(pk=user_id), 1, SPEND_REASON)


def run(variant: str, members: int, seconds: float, index: int, processes: int) -> dict:
    from django.db import connection

    caller = Saka() if variant == "saka" else Floor()
    share = range(index + 1, members + 1, processes)
    rng = random.Random(2026 * 1000 + index)
    statements = [0]

    def count(execute, sql, params, many, context):
        if not sql.startswith(_CONTROL):  # SQLite's BEGIN IMMEDIATE comes through here
            statements[0] += 1
        return execute(sql, params, many, context)

    connection.ensure_connection()
    harvested: set[int] = set()
    for _ in range(WARM_UP_CALLS):  # compiles the code paths; not measured
        member = rng.choice(share)
        caller.harvest(member)
        harvested.add(member)
        caller.spend(member)
    print("ready", flush=True)
    sys.stdin.readline()

    latencies: dict[str, list[float]] = {"harvest": [], "spend": []}
    per_call = {"harvest_first": Counter(), "harvest_later": Counter(), "spend": Counter()}
    errors: Counter = Counter()
    started = time.perf_counter()
    deadline = started + seconds
    with connection.execute_wrapper(count):
        while True:
            begun = time.perf_counter()
            if begun >= deadline:
                break
            member = rng.choice(share)
            kind = "harvest" if rng.random() < HARVEST_SHARE else "spend"
            statements[0] = 0
            try:
                getattr(caller, kind)(member)
            except Exception as error:  # counted and reported; the run goes on
                errors[type(error).__name__] += 1
                continue
            latencies[kind].append(time.perf_counter() - begun)
            if kind == "spend":
                per_call["spend"][statements[0]] += 1
            elif member in harvested:
                per_call["harvest_later"][statements[0]] += 1
            else:
                harvested.add(member)
                per_call["harvest_first"][statements[0]] += 1
    return {
        "seconds": time.perf_counter() - started,
        "calls": {kind: len(values) for kind, values in latencies.items()},
        "latencies": latencies,
        "statements": {kind: dict(counter) for kind, counter in per_call.items()},
        "errors": dict(errors),
    }


def audit() -> dict:
    from benchmarks.checks import conservation

    return conservation()


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    if argv[0] == "audit":
        print(json.dumps(audit()), flush=True)
        return
    variant, members, seconds, index, processes = argv
    result = run(variant, int(members), float(seconds), int(index), int(processes))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
