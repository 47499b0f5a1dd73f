"""The benchmark settings plus django-q2 with a Redis broker, for benchmarks/cluster_workers.py."""

import os

from benchmarks.settings import *  # noqa: F403
from benchmarks.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_q"]
Q_CLUSTER = {
    "name": "saka_bench",
    "workers": int(os.environ.get("SAKA_BENCH_WORKERS", "2")),
    "redis": {
        "host": "127.0.0.1",
        "port": 6379,
        "db": int(os.environ.get("SAKA_BENCH_REDIS_DB", "9")),
    },
    "timeout": 3600,
    "retry": 3700,
    "max_attempts": 1,
    "catch_up": False,
    "ack_failures": True,
}
