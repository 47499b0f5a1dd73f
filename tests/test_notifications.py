"""Cycle notifications, sent to a real SMTP server (aiosmtpd) running in this process.

The server counts the connections it accepts and records every message; it can drop a
connection in the middle of a batch, once. Django talks to it with its SMTP backend.
Q_CLUSTER["sync"] runs each enqueued task at once, in this process; a failed task is
kept as a django-q2 ``Failure``, and delivering it again is what the ORM broker does
after ``retry``.
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import django
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Failure, Success

from django_saka import notifications, services, tasks
from django_saka.models import CycleRun, NotificationDelivery, Wallet
from tests.factories import seed_wallets

pytestmark = pytest.mark.django_db(transaction=True)

LONG_AGO = timezone.now() - timedelta(days=400)
OVERRIDE_DIR = Path(__file__).parent / "testapp" / "email_override"


class Mailbox:
    """The SMTP server's handler: records messages, counts connections, and drops the
    connection at the ``drop_at``-th message it is offered (once)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connections = 0
        self.received: list[Message] = []
        self.drop_at: int | None = None
        self.offered = 0
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: SMTP, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Any, envelope: Any) -> str:
        with self.lock:
            self.offered += 1
            if self.drop_at is not None and self.offered == self.drop_at:
                self.drop_at = None
                server.transport.close()  # the connection drops mid-batch
                return "421 4.4.2 connection dropped"
            self.received.append(message_from_bytes(envelope.content))
        return "250 OK"

    @property
    def recipients(self) -> list[str]:
        return [message["To"] for message in self.received]


class CountingSMTP(SMTP):
    def connection_made(self, transport: Any) -> None:
        with self.event_handler.lock:
            self.event_handler.connections += 1
        super().connection_made(transport)


class CountingController(Controller):
    def factory(self) -> SMTP:
        return CountingSMTP(self.handler, **self.SMTP_kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_settings(port: int) -> dict[str, Any]:
    """Django's SMTP backend pointed at the test server: MAILERS from Django 6.1,
    the EMAIL_* settings before."""
    backend = "django.core.mail.backends.smtp.EmailBackend"
    if django.VERSION >= (6, 1):
        options = {"host": "127.0.0.1", "port": port, "use_tls": False, "timeout": 10}
        return {"MAILERS": {"default": {"BACKEND": backend, "OPTIONS": options}}}
    return {
        "EMAIL_BACKEND": backend,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": port,
        "EMAIL_USE_TLS": False,
        "EMAIL_TIMEOUT": 10,
    }


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    port = _free_port()
    controller = CountingController(box, hostname="127.0.0.1", port=port)
    controller.start()
    box.connections = 0  # the controller's own start-up probe
    try:
        with override_settings(DEFAULT_FROM_EMAIL="saka@example.org", **_smtp_settings(port)):
            yield box
    finally:
        controller.stop()


def notifying(batch_size: int = 500, **extra: Any) -> Any:
    return override_settings(
        SAKA={"NOTIFICATIONS": {"ENABLED": True, "BATCH_SIZE": batch_size, **extra}}
    )


def members(balances: list[int], *, with_email: int | None = None, **kwargs: Any) -> list[Any]:
    """Seeded members; the first ``with_email`` of them (all by default) get an address."""
    wallets = seed_wallets(balances, **kwargs)
    users = [wallet.user for wallet in wallets]
    for user in users[: len(users) if with_email is None else with_email]:
        user.email = f"{user.username}@example.org"
        user.save(update_fields=["email"])
    return users


def batch_tasks(model: Any = Success) -> list[Any]:
    return list(model.objects.filter(func=notifications.SEND_BATCH))


def test_disabled_by_default_nothing_is_sent(mailbox):
    members([500] * 3, last_activity_at=LONG_AGO)
    result = tasks.compost()
    assert CycleRun.objects.get(pk=result["run_id"]).status == "completed"
    assert mailbox.received == [] and mailbox.connections == 0
    assert not NotificationDelivery.objects.exists() and batch_tasks() == []


def test_each_member_with_an_address_gets_one_message_one_connection_per_batch(mailbox):
    users = members([500] * 9, with_email=7, last_activity_at=LONG_AGO)
    with notifying(batch_size=3):
        result = tasks.compost(shards=2)  # the run completes in a worker's task
    run = CycleRun.objects.get(pk=result["run_id"])
    assert run.status == "completed" and run.wallets_done == 9
    expected = sorted(user.email for user in users[:7])
    assert sorted(mailbox.recipients) == expected  # each exactly once; none without one
    assert len(batch_tasks()) == 3 == mailbox.connections  # 3 + 3 + 1 messages
    assert NotificationDelivery.objects.filter(run=run).count() == 7
    message = mailbox.received[0]
    assert message["Subject"] == "50 of your grains were composted"
    assert message["From"] == "saka@example.org"
    body = message.get_payload(decode=True).decode()
    assert "Hello seed" in body and "Your balance is now 450 grains." in body


def test_a_redistribution_tells_what_each_member_received(mailbox):
    seed_wallets([5000], last_activity_at=LONG_AGO)
    services.compost()  # silo 500; notifications are still off
    users = members([10, 10], last_activity_at=timezone.now() - timedelta(days=1))
    with notifying():
        result = tasks.redistribute(rate="1")
    assert CycleRun.objects.get(pk=result["run_id"]).wallets_done == 2
    assert sorted(mailbox.recipients) == sorted(user.email for user in users)
    assert {message["Subject"] for message in mailbox.received} == {"You received 250 grains"}
    body = mailbox.received[0].get_payload(decode=True).decode()
    assert "Your balance is now 260 grains." in body
    assert mailbox.connections == 1


def test_a_run_finished_by_a_command_notifies_too(mailbox):
    users = members([500] * 4, last_activity_at=LONG_AGO)
    with notifying(batch_size=2):
        call_command("saka_compost", stdout=io.StringIO())
    assert sorted(mailbox.recipients) == sorted(user.email for user in users)
    assert mailbox.connections == 2 == len(batch_tasks())


def test_a_batch_dropped_mid_way_is_retried_without_sending_twice(mailbox, caplog):
    users = members([500] * 8, last_activity_at=LONG_AGO)
    mailbox.drop_at = 3  # the third message of the first batch loses the connection
    with notifying(batch_size=4):
        run_id = tasks.compost()["run_id"]
        # In sync mode the failed task raises into enqueue(), which logs it and goes on.
        assert "ledger rows (0, " in caplog.text and "failed" in caplog.text
        assert len(batch_tasks()) == 1  # the second batch
        assert len(mailbox.received) == 6  # two of the first batch, all four of the second
        assert NotificationDelivery.objects.filter(run_id=run_id).count() == 6
        # The broker delivers the failed task again (the ORM broker does, after retry).
        ids = list(notifications.recipients(run_id).order_by("id").values_list("id", flat=True))
        again = tasks.send_notifications(run_id, 0, ids[3])
    assert again["sent"] == 2
    assert sorted(mailbox.recipients) == sorted(user.email for user in users)  # once each
    assert mailbox.connections == 3  # two batches, and the retry of one
    assert NotificationDelivery.objects.filter(run_id=run_id).count() == 8


def test_notify_enqueues_again_only_what_is_missing(mailbox):
    users = members([500] * 6, last_activity_at=LONG_AGO)
    mailbox.drop_at = 2
    with notifying(batch_size=3):
        run_id = tasks.compost()["run_id"]
        assert len(mailbox.received) == 4  # 1 of the first batch, 3 of the second
        result = tasks.notify(run_id)
    assert len(result["tasks"]) == 1  # the two missing members fit in one batch
    assert sorted(mailbox.recipients) == sorted(user.email for user in users)
    assert mailbox.connections == 3


def test_a_refused_address_does_not_stop_its_batch(mailbox):
    users = members([500] * 3, last_activity_at=LONG_AGO)
    mailbox.refuse = {users[1].email}
    with notifying():
        run_id = tasks.compost()["run_id"]
    (task,) = batch_tasks()
    assert task.result["sent"] == 2 and task.result["refused"] == [users[1].pk]
    assert sorted(mailbox.recipients) == sorted([users[0].email, users[2].email])
    assert set(
        NotificationDelivery.objects.filter(run_id=run_id).values_list("user", flat=True)
    ) == {
        users[0].pk,
        users[2].pk,
    }
    assert mailbox.connections == 1


def test_a_batch_delivered_twice_sends_nothing_the_second_time(mailbox):
    members([500] * 3, last_activity_at=LONG_AGO)
    with notifying():
        run_id = tasks.compost()["run_id"]
        (task,) = batch_tasks()
        again = tasks.send_notifications(*task.args)
        enqueued_again = tasks.notify(run_id)
    assert again["status"] == "nothing_to_send" and enqueued_again["tasks"] == []
    assert len(mailbox.received) == 3 and mailbox.connections == 1


def test_without_django_q_the_batches_are_sent_in_process(mailbox, monkeypatch):
    users = members([500] * 5, last_activity_at=LONG_AGO)
    monkeypatch.setattr(notifications, "queue_installed", lambda: False)
    mailbox.drop_at = 2
    with notifying(batch_size=2):
        run_id = services.compost().run_id
        assert len(mailbox.received) == 4  # the first batch failed after one message
        results = notifications.enqueue(run_id)  # sending again: only what is missing
    assert [result["sent"] for result in results] == [1]
    assert sorted(mailbox.recipients) == sorted(user.email for user in users)
    assert batch_tasks() == [] and batch_tasks(Failure) == []
    assert mailbox.connections == 3 + 1


def test_batches_are_ledger_id_ranges_of_batch_size_recipients(mailbox):
    members([500] * 12, with_email=11, last_activity_at=LONG_AGO)
    run_id = services.compost().run_id
    ids = list(notifications.recipients(run_id).order_by("id").values_list("id", flat=True))
    assert len(ids) == 11
    assert notifications.batch_bounds(run_id, 5) == [
        (0, ids[4]),
        (ids[4], ids[9]),
        (ids[9], ids[10]),
    ]
    assert notifications.batch_bounds(run_id, 11) == [(0, ids[10])]
    assert notifications.batch_bounds(run_id + 1, 5) == []


def test_a_batch_costs_the_same_reads_whatever_its_size(mailbox):
    members([500] * 12, last_activity_at=LONG_AGO)
    run_id = services.compost().run_id
    ids = list(notifications.recipients(run_id).order_by("id").values_list("id", flat=True))

    def reads(after: int, last: int) -> int:
        with notifying(), CaptureQueriesContext(connection) as queries:
            assert notifications.send_batch(run_id, after, last)["status"] == "sent"
        return sum(query["sql"].lstrip().upper().startswith("SELECT") for query in queries)

    assert reads(0, ids[1]) == reads(ids[1], ids[11])  # 2 members, then 10
    assert len(mailbox.received) == 12 and mailbox.connections == 2


def test_members_without_an_address_or_inactive_get_nothing(mailbox):
    users = members([500] * 4, with_email=3, last_activity_at=LONG_AGO)
    get_user_model().objects.filter(pk=users[0].pk).update(is_active=False)
    with notifying():
        tasks.compost()
    assert sorted(mailbox.recipients) == sorted(user.email for user in users[1:3])


def test_a_failed_run_notifies_nobody(mailbox):
    members([500] * 2, last_activity_at=LONG_AGO)
    run = CycleRun.objects.create(kind="compost", status="failed")
    with notifying():
        notifications.notify_completed_run(CycleRun, run=run, kind="compost", report=None)
    assert mailbox.received == [] and mailbox.connections == 0


def test_the_templates_can_be_overridden_and_follow_the_members_language(mailbox, settings):
    users = members([500] * 2, last_activity_at=LONG_AGO)
    get_user_model().objects.filter(pk=users[0].pk).update(last_name="fr", first_name="Zoé")
    templates = [{**settings.TEMPLATES[0], "DIRS": [OVERRIDE_DIR]}]
    with (
        notifying(LANGUAGE_FIELD="last_name"),
        override_settings(TEMPLATES=templates, LANGUAGE_CODE="de"),
    ):
        run_id = tasks.compost()["run_id"]
    by_address = {message["To"]: message for message in mailbox.received}
    french, default = by_address[users[0].email], by_address[users[1].email]
    assert french["Subject"] == "[fr] compost: 50 -> 450"
    assert default["Subject"] == "[de] compost: 50 -> 450"
    body = french.get_payload(decode=True).decode()
    assert body.strip() == f"Dear Zoé & co, run {run_id} moved 50; balance 450."


def test_the_balance_is_the_wallets_balance_when_the_message_is_built(mailbox):
    users = members([500], last_activity_at=LONG_AGO)
    run_id = services.compost().run_id
    services.harvest(users[0], "content_read")
    (bounds,) = notifications.batch_bounds(run_id, 500)
    with notifying():
        notifications.send_batch(run_id, *bounds)
    assert Wallet.objects.get(user=users[0]).balance == 460
    assert (
        "Your balance is now 460 grains." in mailbox.received[0].get_payload(decode=True).decode()
    )
