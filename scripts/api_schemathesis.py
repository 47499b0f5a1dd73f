"""Schemathesis against a live server of the HTTP API (tox -e api-schemathesis).

Migrates a SQLite file database with the test settings, seeds it (a member with a
ledger long enough for several pages, an operator holding the app's permissions, runs,
seasons, recorded audits), starts ``manage.py runserver`` on a free port, and runs the
``schemathesis run`` CLI on the served OpenAPI document twice, with the member's token
and with the operator's, on every endpoint, with the checks not_a_server_error and
response_schema_conformance. Prints the requests the server received per endpoint and
status, and exits non-zero on any Schemathesis failure or any 5xx answer.

    python scripts/api_schemathesis.py [--max-examples N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKS = "not_a_server_error,response_schema_conformance"
# One line per request in runserver's log: "GET /saka/ledger/?page_size=3 HTTP/1.1" 200 512
REQUEST_LINE = re.compile(r'"([A-Z]+) (\S+) HTTP/1\.[01]" (\d{3})')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def seed() -> dict[str, str]:
    """The data the fuzzed requests read; returns the token of each user."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from rest_framework.authtoken.models import Token

    from django_saka import services
    from django_saka.models import CycleRun, CycleShard, Season
    from tests.factories import Move, seed_ledger

    utc = timezone.utc
    users = get_user_model().objects
    member = users.create_user("member", password=None)
    operator = users.create_user("operator", password=None, is_staff=True)
    idle = users.create_user("idle", password=None)
    operator.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_cyclerun", "preview_compost", "view_auditrecord"]
        )
    )
    spring = datetime(2026, 3, 1, tzinfo=utc)
    # 45 harvests and 15 spends, a few of them at the same moment as another row.
    seed_ledger(
        member,
        [
            Move("earn", 10 + i, "content_read", spring + timedelta(hours=i // 2 * 2))
            for i in range(45)
        ]
        + [Move("spend", 5, "support", spring + timedelta(days=3, hours=i)) for i in range(15)],
    )
    seed_ledger(idle, [Move("earn", 400, "manual_adjust", spring - timedelta(days=200))])
    services.harvest(member, "poll_vote")
    services.compost()  # takes 40 grains of the idle wallet
    services.redistribute(rate="0.5")
    # An unfinished run, its progress on its shards.
    running = CycleRun.objects.create(
        kind="redistribution",
        status="running",
        active_kind="redistribution",
        planned_wallets=10,
        parameters={"rate": "0.05"},
    )
    CycleShard.objects.create(
        run=running, number=1, after_id=0, last_id=100, cursor=3, wallets_done=3, status="running"
    )
    for year in range(2020, 2027):
        Season.objects.create(
            name=f"Year {year}",
            start=datetime(year, 1, 1, tzinfo=utc),
            end=datetime(year + 1, 1, 1, tzinfo=utc),
        )
    for _ in range(3):
        services.audit_ledger(record=True, source="schedule")
    return {
        "member": Token.objects.create(user=member).key,
        "operator": Token.objects.create(user=operator).key,
    }


def wait_for(url: str, server: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    sys.exit(f"no answer from {url} after {seconds:.0f} s")


def endpoint_of(path: str) -> str:
    path = path.split("?")[0]
    return re.sub(r"^/saka/seasons/[^/]+/$", "/saka/seasons/{season_id}/", path)


def requests_in(log: str) -> Counter[tuple[str, str, str]]:
    """(method, endpoint, status) -> number of requests, from runserver's log."""
    return Counter(
        (method, endpoint_of(path), status) for method, path, status in REQUEST_LINE.findall(log)
    )


def report(counts: dict[str, Counter[tuple[str, str, str]]], operations: list[str]) -> None:
    """One line per operation of the document, then the rest: Schemathesis also probes
    the server with methods and paths the document does not have."""
    print(f"\n{'operation':34}" + "".join(f"{label:>34}" for label in counts))
    for row in [*operations, "other"]:
        cells = []
        for count in counts.values():
            statuses: Counter[str] = Counter()
            for (method, endpoint, status), number in count.items():
                if f"{method} {endpoint}" == row or (
                    row == "other" and f"{method} {endpoint}" not in operations
                ):
                    statuses[status] += number
            detail = " ".join(f"{status}:{n}" for status, n in sorted(statuses.items()))
            cells.append(f"{sum(statuses.values())} ({detail})")
        print(f"{row:34}" + "".join(f"{cell:>34}" for cell in cells))
    totals = [sum(count.values()) for count in counts.values()]
    print(f"{'all':34}" + "".join(f"{total:>34}" for total in totals))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=50, help="per operation and phase")
    options = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="saka-schemathesis-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        SAKA_TEST_DB="sqlite",
        SAKA_TEST_DB_NAME=str(workdir / "api.sqlite3"),
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    sys.path.insert(0, str(ROOT))
    import django
    from django.core.management import call_command
    from django.db import connections

    django.setup()
    from django_saka.api.schema import openapi_document

    call_command("migrate", verbosity=0)
    tokens = seed()
    operations = [
        f"{method.upper()} {path}"
        for path, methods in openapi_document()["paths"].items()
        for method in methods
    ]
    connections.close_all()

    # The CLI installed beside this interpreter (tox's environment), else the one on PATH.
    schemathesis = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    schemathesis = schemathesis or "schemathesis"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = workdir / "server.log"
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "django", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    failed: list[str] = []
    counts: dict[str, Counter[tuple[str, str, str]]] = {}
    try:
        wait_for(f"{base}/saka/schema/", server)
        for label, token in tokens.items():
            before = server_log.read_text(encoding="utf-8", errors="replace")
            print(f"\n=== schemathesis as the {label}", flush=True)
            run = subprocess.run(
                [
                    schemathesis,
                    "run",
                    f"{base}/saka/schema/",
                    "--header",
                    f"Authorization: Token {token}",
                    "--checks",
                    CHECKS,
                    "--max-examples",
                    str(options.max_examples),
                    "--workers",
                    "1",
                    "--request-timeout",
                    "10",
                ],
                cwd=workdir,
                check=False,
            )
            after = server_log.read_text(encoding="utf-8", errors="replace")
            counts[label] = requests_in(after[len(before) :])
            if run.returncode != 0:
                failed.append(f"schemathesis as the {label} exited with {run.returncode}")
    finally:
        server.terminate()
        server.wait(timeout=30)

    print("\nRequests the server answered, per endpoint (status:count):")
    report(counts, operations)
    server_errors = sum(n for c in counts.values() for (_, _, s), n in c.items() if s >= "500")
    if server_errors:
        failed.append(f"{server_errors} answers with a 5xx status (see {server_log})")
    for failure in failed:
        print(f"FAILED: {failure}", file=sys.stderr)
    if failed:
        return 1
    shutil.rmtree(workdir)  # kept on failure, for the server's log
    return 0


if __name__ == "__main__":
    sys.exit(main())
