"""Settings of the real ``qcluster`` that tests/test_cluster.py starts (PostgreSQL).

    SAKA_TEST_DB=postgres SAKA_TEST_DB_NAME=<test database> SAKA_CLUSTER_BROKER=orm|redis \
        python -m django qcluster --settings tests.settings_cluster

The broker comes from SAKA_CLUSTER_BROKER: ``orm`` (django-q2's ORM broker on the test
database) or ``redis`` (127.0.0.1:6379, database SAKA_REDIS_DB, 7 unless set). The test
process enqueues to the same broker with :func:`q_cluster` (see the test's ``broker``
fixture). Test hooks (pause a worker, fail a shard) live in tests/clusterhooks.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import _SUFFIX, INSTALLED_APPS

# Short times for tests. timeout: a task running longer is stopped by django-q2;
# retry (> timeout, check E011): an unacknowledged task (its worker died) is handed
# out again by the ORM broker; the lease (< retry - timeout) makes a dead worker's
# shard free to take over by then.
TIMEOUT, RETRY, LEASE = 10, 14, 3
REDIS_DB = int(os.environ.get("SAKA_REDIS_DB", "7"))


def q_cluster(broker: str) -> dict:
    config = {
        "name": "saka_tests",  # the signing salt: the same as tests.settings
        "cluster_name": f"saka_cluster_{_SUFFIX}",  # the queue: one per tox environment
        "workers": 2,
        "timeout": TIMEOUT,
        "retry": RETRY,
        "max_attempts": 1,  # a failed task is not handed out again (the failure test)
        "poll": 0.1,
        "catch_up": False,
        "save_limit": 0,
        "label": "Django Q2",
    }
    if broker == "orm":
        config["orm"] = "default"
    elif broker == "redis":
        config["redis"] = {"host": "127.0.0.1", "port": 6379, "db": REDIS_DB}
    else:
        raise RuntimeError(f"SAKA_CLUSTER_BROKER must be orm or redis, not {broker!r}")
    return config


Q_CLUSTER = q_cluster(os.environ.get("SAKA_CLUSTER_BROKER", "orm"))
SAKA = {"RUN_LEASE_SECONDS": LEASE}
INSTALLED_APPS = [*INSTALLED_APPS, "tests.clusterhooks.apps.ClusterHooksConfig"]
