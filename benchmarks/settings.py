"""Settings for the benchmark scripts: a PostgreSQL database of their own (or SQLite,
or MariaDB for the hot path)."""

import os

SECRET_KEY = "benchmarks"
USE_TZ = True
TIME_ZONE = "UTC"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django_saka",
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if os.environ.get("SAKA_BENCH_DB", "postgres") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("SAKA_PG_HOST", "127.0.0.1"),
            "USER": os.environ.get("SAKA_PG_USER", "postgres"),
            "NAME": os.environ.get("SAKA_BENCH_DB_NAME", "saka_bench"),
            # Tells the benchmark's own connections apart in pg_stat_activity.
            "OPTIONS": {"application_name": os.environ.get("SAKA_BENCH_APP", "saka_bench")},
        }
    }
elif os.environ["SAKA_BENCH_DB"] == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ.get("SAKA_MYSQL_HOST", "127.0.0.1"),
            "USER": os.environ.get("SAKA_MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("SAKA_MYSQL_PASSWORD", ""),
            "NAME": os.environ.get("SAKA_BENCH_DB_NAME", "saka_bench"),
            "OPTIONS": {"charset": "utf8mb4"},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SAKA_BENCH_SQLITE", "/tmp/saka_bench.sqlite3"),
            # As docs/databases.md recommends for concurrent writers: the prober and
            # the variant write at the same time.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 600,
            },
        }
    }

SAKA = {
    "REASONS": {
        "manual_adjust": {"reward": None, "max_amount": 10**6},
        # What the latency prober harvests during a run: no daily limit.
        "bench_tick": {"reward": 1},
        # What the hot-path benchmark harvests: a daily limit, so every harvest counts
        # the member's harvests of the day, set high enough never to refuse one.
        "bench_hot": {"reward": 1, "daily_limit": 1_000_000},
    },
}
