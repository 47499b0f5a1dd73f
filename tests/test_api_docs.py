"""docs/http-api.md, replayed: each ```http request of the page is sent to the API, in
the order of the page, and must get the ```http response printed under it (status,
headers shown, JSON body), against the data the page describes. The page's Python
blocks are the code of the host views that tests/urls.py serves."""

from __future__ import annotations

import inspect
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.color import no_style
from django.db import connection
from django.test import Client
from rest_framework.authtoken.models import Token

from django_saka.models import AuditRecord, CycleRun, Season, Silo, Transaction, Wallet
from tests.factories import Move, seed_ledger
from tests.testapp import views
from tests.testapp.models import Project

pytestmark = pytest.mark.django_db

PAGE = Path(__file__).resolve().parents[1] / "docs" / "http-api.md"
UTC = timezone.utc
# The moment the page's examples are sent: compost previews and dry runs depend on it.
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
ALICE_TOKEN = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
OPS_TOKEN = "7d2f6a1c9b3e4f5a8c0d1e2f3a4b5c6d7e8f9a0b"
# Measured, not computed: any number is right.
VOLATILE = {"duration_seconds"}


@dataclass
class Message:
    """One ```http block: a request line or status line, headers, a body."""

    first_line: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


def _parse(block: str) -> Message:
    head, _, body = block.partition("\n\n")
    first_line, *header_lines = head.splitlines()
    headers = dict(line.split(": ", 1) for line in header_lines)
    return Message(first_line, headers, body.strip())


def exchanges(page: Path = PAGE) -> list[tuple[Message, Message]]:
    """The (request, response) pairs of the page, in order."""
    text = page.read_text(encoding="utf-8")
    blocks = [_parse(block) for block in re.findall(r"^```http\n(.*?)^```$", text, re.M | re.S)]
    pairs = list(zip(blocks[::2], blocks[1::2], strict=True))
    for request, response in pairs:
        assert re.match(r"(GET|POST) /\S* HTTP/1\.1$", request.first_line), request
        assert response.first_line.startswith("HTTP/1.1 "), response
    return pairs


def _without_volatile(documented: Any, answered: Any) -> Any:
    """``answered`` with the VOLATILE numbers replaced by the page's."""
    if isinstance(documented, dict) and isinstance(answered, dict):
        return {
            key: (
                documented[key]
                if key in VOLATILE and key in documented and isinstance(value, float)
                else _without_volatile(documented.get(key), value)
            )
            for key, value in answered.items()
        }
    if isinstance(documented, list) and isinstance(answered, list):
        return [_without_volatile(d, a) for d, a in zip(documented, answered, strict=False)] + (
            answered[len(documented) :]
        )
    return answered


def replay(request: Message, response: Message) -> None:
    method, path, _ = request.first_line.split(" ")
    headers = dict(request.headers)
    content_type = headers.pop("Content-Type", None)
    # The page's host serves over TLS: its next links are https.
    client = Client(headers=headers)
    extra = {"data": request.body, "content_type": content_type} if request.body else {}
    answer = client.generic(method, path, secure=True, **extra)

    status = int(response.first_line.split(" ")[1])
    where = f"{request.first_line} (docs/http-api.md)"
    assert answer.status_code == status, f"{where}: {answer.status_code} {answer.content!r}"
    assert response.first_line == f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", where
    for name, value in response.headers.items():
        assert answer.headers[name] == value, f"{where}: header {name}"
    documented = json.loads(response.body)
    assert _without_volatile(documented, answer.json()) == documented, (
        f"{where} answers\n{json.dumps(answer.json(), indent=2)}"
    )


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def story() -> None:
    """The data of the page: three members and an operator, seven ledger rows, a compost
    run, two seasons and an audit."""
    users = get_user_model().objects
    alice, bob, carol = (
        users.create_user(name, password=None) for name in ["alice", "bob", "carol"]
    )
    ops = users.create_user("ops", password=None, is_staff=True)
    ops.user_permissions.add(
        *Permission.objects.filter(
            codename__in=["view_cyclerun", "preview_compost", "view_auditrecord"]
        )
    )
    Token.objects.create(user=alice, key=ALICE_TOKEN)
    Token.objects.create(user=ops, key=OPS_TOKEN)
    orchard = Project.objects.create(pk=7, title="Community orchard")
    run = CycleRun.objects.create(
        pk=1,
        kind="compost",
        status="completed",
        source="command",
        as_of=_at("2026-06-01T03:00:00"),
        cutoff=_at("2026-03-03T03:00:00"),
        parameters={
            "rate": "0.1",
            "min_balance": 50,
            "min_amount": 10,
            "inactivity_days": 90,
            "chunk_size": 1000,
        },
        planned_wallets=1,
        planned_grains=20,
        wallets_done=1,
        grains_done=20,
        chunks_done=1,
        silo_before=0,
        silo_after=20,
        started_at=_at("2026-06-01T03:00:00"),
        heartbeat_at=_at("2026-06-01T03:00:01"),
        finished_at=_at("2026-06-01T03:00:01"),
    )
    seed_ledger(bob, [Move("earn", 200, "manual_adjust", _at("2026-03-02T08:00:00"), pk=1)])
    seed_ledger(alice, [Move("earn", 500, "manual_adjust", _at("2026-03-02T10:00:00"), pk=2)])
    seed_ledger(carol, [Move("earn", 300, "manual_adjust", _at("2026-03-10T12:00:00"), pk=3)])
    seed_ledger(
        alice,
        [
            Move("earn", 10, "content_read", _at("2026-04-01T09:30:00"), pk=4),
            Move("spend", 25, "support", _at("2026-04-02T18:00:00"), target=orchard, pk=5),
        ],
    )
    seed_ledger(bob, [Move("spend", 20, "compost", run.as_of, run_id=run.pk, pk=6)])
    seed_ledger(alice, [Move("earn", 10, "content_read", _at("2026-06-10T07:45:00"), pk=7)])
    # Rows with chosen ids: the next row the services write takes the next id.
    with connection.cursor() as cursor:
        for statement in connection.ops.sequence_reset_sql(no_style(), [Transaction]):
            cursor.execute(statement)
    Season.objects.create(pk=1, name="Spring 2026", start=_at("2026-03-01"), end=_at("2026-06-01"))
    Season.objects.create(pk=2, name="Summer 2026", start=_at("2026-06-01"), end=_at("2026-09-01"))
    AuditRecord.objects.create(
        pk=1,
        status="ok",
        source="schedule",
        created=_at("2026-06-15T02:30:00"),
        finished_at=_at("2026-06-15T02:30:01"),
        duration_seconds=0.84,
        wallets_checked=3,
        ledger_rows=7,
    )
    assert Wallet.objects.get(user=alice).balance == 495
    assert Silo.objects.get().balance == 20


def test_the_page_has_an_example_of_every_endpoint():
    requested = {request.first_line.split("?")[0].split(" ")[:2][1] for request, _ in exchanges()}
    assert {
        "/saka/wallet/",
        "/saka/ledger/",
        "/saka/compost-preview/",
        "/saka/silo/",
        "/saka/seasons/",
        "/saka/seasons/1/",
        "/saka/runs/",
        "/saka/compost/preview/",
        "/saka/audits/",
        "/projects/7/plant/",
    } <= requested


def test_every_exchange_of_the_page_happens_as_printed(story):
    with mock.patch("django_saka.clock.now", return_value=NOW):
        for request, response in exchanges():
            replay(request, response)


def _functions_inside(view: Any) -> list[Any]:
    """The view and the functions its decorators wrap (REST framework's @api_view keeps
    the function in the closure of its handlers)."""
    found, waiting = [], [inspect.unwrap(view)]
    while waiting:
        item = waiting.pop()
        found.append(item)
        cells = getattr(item, "__closure__", None) or ()
        waiting += [cell.cell_contents for cell in cells if inspect.isfunction(cell.cell_contents)]
        view_class = getattr(item, "cls", None)
        if view_class is not None:
            waiting += [view_class.post]
    return found


@pytest.mark.parametrize("name", ["plant", "plant_without_rest_framework"])
def test_the_host_views_are_the_code_of_the_page(name):
    files = {function.__code__.co_filename for function in _functions_inside(getattr(views, name))}
    assert f"{PAGE}, block defining {name}()" in files


def test_a_plain_view_answers_a_refusal_with_the_same_body(story):
    client = Client()
    client.force_login(get_user_model().objects.get(username="alice"))
    planted = client.post("/projects/7/plant-form/", {"amount": "30"})
    assert (planted.status_code, planted.json()) == (200, {"grains": 55, "supporters": 1})
    refused = client.post("/projects/7/plant-form/", {"amount": "1000"})
    assert refused.status_code == 409
    assert refused.json() == {
        "error": "insufficient_balance",
        "detail": "Cannot spend 1000 grains: the wallet holds 465 grains.",
        "balance": 465,
        "requested": 1000,
    }
    not_a_number = client.post("/projects/7/plant-form/", {"amount": "lots"})
    assert not_a_number.status_code == 400
    assert not_a_number.json() == {
        "error": "invalid_amount",
        "detail": "amount must be a whole number.",
    }


def test_the_replay_catches_a_page_that_lies(story, tmp_path):
    lying = tmp_path / "page.md"
    lying.write_text(
        PAGE.read_text(encoding="utf-8").replace('"balance": 495', '"balance": 496', 1),
        encoding="utf-8",
    )
    with mock.patch("django_saka.clock.now", return_value=NOW), pytest.raises(AssertionError):
        for request, response in exchanges(lying):
            replay(request, response)
