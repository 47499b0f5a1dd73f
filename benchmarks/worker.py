"""One repetition of one variant, in a process of its own (clean memory figures).

    python -m benchmarks.worker VARIANT

Prints one JSON object: time, wallets moved, chunks, statements, lock holds, peak
Python memory growth (tracemalloc) and peak RSS, then coverage and conservation.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
import tracemalloc


def main(variant: str) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.db import connection

    from benchmarks import checks, seeding, variants

    kind, run = variants.VARIANTS[variant]
    eligible_before = checks.eligible_for_compost()
    ledger = seeding.MINIMAL_LEDGER if variant in variants.ON_MINIMAL_LEDGER else None
    copied_up_to = checks.ledger_mark(ledger) if ledger else 0
    prepare = getattr(run, "prepare", None)
    if prepare:
        prepare()  # worker processes of a multi-process variant start before the clock

    def count(execute, sql, params, many, context):
        variants.STATEMENTS[0] += 1
        return execute(sql, params, many, context)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    started = time.perf_counter()
    with connection.execute_wrapper(count):
        moved, chunks, holds = run()
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = {
        "variant": variant,
        "kind": kind,
        "seconds": elapsed,
        "wallets": moved,
        "chunks": chunks,
        "statements": variants.STATEMENTS[0],
        # django-saka: statements inside each chunk transaction (BEGIN/COMMIT included
        # where the driver sends them); others: all statements over their transactions.
        "statements_per_chunk": (
            max(variants.CHUNK_STATEMENTS)
            if variants.CHUNK_STATEMENTS
            else variants.STATEMENTS[0] / max(chunks, 1)
        ),
        "lock_holds": holds,
        "peak_python_mb": peak / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "rss_growth_mb": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024,
    }
    if kind == "compost":
        result.update(checks.compost_coverage(eligible_before))
    result.update(checks.conservation(ledger, copied_up_to))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
