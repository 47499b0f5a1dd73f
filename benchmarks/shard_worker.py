"""One worker of a multi-process sharded variant: drives one shard of a planned run.

    python -m benchmarks.shard_worker NUMBER

Sets Django up and connects, prints "ready", reads the run id from stdin, then calls
``engine.run_shard(run_id, NUMBER)`` (what a task-queue worker calls) and prints one
JSON object: its chunks' lock holds and its statements.
"""

from __future__ import annotations

import json
import os
import sys


def main(number: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.db import connection

    from benchmarks import variants
    from django_saka.cycles import engine

    connection.ensure_connection()
    print("ready", flush=True)
    run_id = int(sys.stdin.readline())

    def count(execute, sql, params, many, context):
        variants.STATEMENTS[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        _, holds = variants.timing_chunks(lambda: engine.run_shard(run_id, number))
    print(
        json.dumps(
            {
                "lock_holds": holds,
                "statements": variants.STATEMENTS[0],
                "chunk_statements": variants.CHUNK_STATEMENTS,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))
