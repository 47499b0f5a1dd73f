"""The concurrent member: harvests on random wallets while a variant runs.

    python -m benchmarks.prober MEMBERS

Harvests about 100 times a second until SIGTERM, then prints the latencies (seconds)
as JSON. A harvest on a wallet the variant holds locked waits for the lock.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sys
import time


def main(members: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from django_saka import services

    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    user_model = get_user_model()
    rng = random.Random(2026)
    latencies = []
    print("ready", flush=True)
    while not stopping:
        member = user_model(pk=rng.randint(1, members))
        started = time.perf_counter()
        services.harvest(member, "bench_tick")
        latencies.append(time.perf_counter() - started)
        time.sleep(max(0.0, 0.01 - (time.perf_counter() - started)))
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
