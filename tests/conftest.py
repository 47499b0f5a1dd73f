from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections

from django_saka import services

# Headless Chromium for the tests marked browser (tests/test_browser.py).
pytest_plugins = ["tests.browser"]


def pytest_configure(config: pytest.Config) -> None:
    """Under SAKA_REQUIRE_DB=1 (set by .ci/run) a server database must be reachable."""
    if settings.DB_VENDOR == "sqlite" or os.environ.get("SAKA_REQUIRE_DB") != "1":
        return
    wrapper = connections["default"]
    try:
        # A raw driver connection: pytest-django blocks the ORM's own until tests run.
        wrapper.get_new_connection(wrapper.get_connection_params()).close()
    except Exception as exc:  # any driver error means the server is not there
        pytest.exit(f"SAKA_REQUIRE_DB=1 but {settings.DB_VENDOR} is unreachable: {exc}", 3)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Server-only tests skip on SQLite; on PostgreSQL/MariaDB they always run. Slow tests
    are deselected (not skipped) unless SAKA_SLOW=1."""
    if os.environ.get("SAKA_SLOW") != "1":
        slow = [item for item in items if "slow" in item.keywords]
        if slow:
            config.hook.pytest_deselected(items=slow)
            items[:] = [item for item in items if "slow" not in item.keywords]
    if settings.DB_VENDOR != "sqlite":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL or MariaDB (SAKA_TEST_DB=postgres|mysql)")
    for item in items:
        if "server_db" in item.keywords:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    """Under SAKA_REQUIRE_DB=1 a skipped server test on PostgreSQL or MariaDB fails the
    run: CI must never pass while the server tests silently did not run."""
    if settings.DB_VENDOR == "sqlite" or os.environ.get("SAKA_REQUIRE_DB") != "1":
        return
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if "server_db" in getattr(report, "keywords", {})
    ]
    if skipped:
        terminalreporter.write_line(
            f"SAKA_REQUIRE_DB=1: {len(skipped)} server test(s) skipped on {settings.DB_VENDOR}",
            red=True,
        )
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(autouse=True)
def ledger_invariants_hold(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test that touches the database, every ledger invariant (docs/index.md) holds."""
    marker = request.node.get_closest_marker("django_db")
    uses_db = marker is not None or {"db", "transactional_db"} & set(request.fixturenames)
    if not uses_db or request.node.get_closest_marker("corrupts_ledger"):
        yield
        return
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction", False)
    )
    # Requesting the db fixture from here makes it tear down after this check.
    request.getfixturevalue("transactional_db" if transactional else "db")
    yield
    report = services.audit_ledger()
    assert report.ok, f"ledger invariants broken after the test:\n{report}"


@pytest.fixture
def make_user(db: None) -> Callable[..., Any]:
    counter = iter(range(1, 10**9))

    def make(username: str | None = None) -> Any:
        return get_user_model().objects.create_user(
            username=username or f"user{next(counter)}", email=None, password=None
        )

    return make


@pytest.fixture
def user(make_user: Callable[..., Any]) -> Any:
    return make_user("alice")


@pytest.fixture
def staff(client: Any, django_user_model: Any) -> Callable[..., Any]:
    """``staff("start_cycle", ...)``: the test client, signed in as a new staff user who
    has exactly these django_saka permissions (the admin's pages and actions)."""
    from django.contrib.auth.models import Permission

    made = iter(range(1, 1000))

    def sign_in(*codenames: str) -> Any:
        user = django_user_model.objects.create_user(f"staff{next(made)}", is_staff=True)
        permissions = Permission.objects.filter(
            content_type__app_label="django_saka", codename__in=codenames
        )
        assert permissions.count() == len(codenames), "a permission named here does not exist"
        user.user_permissions.set(permissions)
        client.force_login(user)
        return client

    return sign_in


def run_in_threads(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run ``work(i)`` in ``count`` threads released at once; each returns a value or an
    exception instance. Every thread closes its own database connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def worker(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
