"""The operator's actions in the admin: preview a compost, start a run, take over or
abandon a dead run, run the audit. Each is a POST (with CSRF) behind its own
permission; a start, a take-over and an audit are queued through django-q2.

The queue here is django-q2's ORM broker with ``sync`` turned off, so a test sees the
task exactly as a worker would receive it (an ``OrmQ`` row), then runs it as a worker
would: the queued function with the queued arguments.
"""

from __future__ import annotations

import pydoc
import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ

from django_saka import services, tasks
from django_saka.cycles import engine
from django_saka.models import AuditRecord, CycleRun, Transaction, Wallet
from django_saka.services.compost import plan_compost
from tests.factories import dead_compost_run, seed_wallets

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=400)
DASHBOARD = reverse("admin:django_saka_dashboard")
OCCASION = "0123456789abcdef0123456789abcdef"


@pytest.fixture(autouse=True)
def queue(monkeypatch):
    """django-q2 enqueues into its ORM broker instead of running tasks at once."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", False)


def queued() -> list[dict[str, Any]]:
    """The tasks waiting in the ORM broker, oldest first."""
    return [row.task for row in OrmQ.objects.order_by("id")]


def run_queued() -> list[Any]:
    """Run and remove each waiting task, as a worker would, each in its own
    transaction (what a start enqueues at its commit is enqueued); returns their
    results."""
    results = []
    for row in OrmQ.objects.order_by("id"):
        task = row.task
        with TestCase.captureOnCommitCallbacks(execute=True):
            results.append(pydoc.locate(task["func"])(*task["args"], **task["kwargs"]))
        row.delete()
    return results


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- every action: POST, CSRF, its own permission -----------------------------------------


def action_urls(run_id: int) -> dict[str, str]:
    return {
        "preview_compost": reverse("admin:django_saka_preview_compost"),
        "start_cycle": reverse("admin:django_saka_start"),
        "take_over_run": reverse("admin:django_saka_take_over", args=[run_id]),
        "abandon_run": reverse("admin:django_saka_abandon", args=[run_id]),
        "run_audit": reverse("admin:django_saka_run_audit"),
    }


def test_each_action_is_refused_without_its_own_permission(staff):
    run = dead_compost_run()
    everything_else = ["view_dashboard", "view_cyclerun", "view_auditrecord"]
    for permission, url in action_urls(run.pk).items():
        others = [name for name in action_urls(run.pk) if name != permission]
        client = staff(*everything_else, *others)
        response = client.post(url, {"kind": "compost", "occasion": OCCASION, "confirm": "yes"})
        assert response.status_code == 403, permission
    assert queued() == []
    run.refresh_from_db()
    assert run.active_kind == "compost" and not Transaction.objects.filter(run=run).exists()


def test_the_actions_refuse_get(staff):
    run = dead_compost_run()
    client = staff("preview_compost", "start_cycle", "take_over_run", "run_audit")
    for name, url in action_urls(run.pk).items():
        if name != "abandon_run":  # its GET is the confirmation page
            assert client.get(url).status_code == 405, name
    assert queued() == []


def test_the_actions_need_the_csrf_token(django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(
        reverse("admin:django_saka_start"), {"kind": "compost", "occasion": OCCASION}
    )
    assert response.status_code == 403
    assert queued() == []
    # The dashboard's own form carries the token, and is accepted.
    page = client.get(DASHBOARD).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(
        reverse("admin:django_saka_start"),
        {"kind": "compost", "occasion": OCCASION, "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302 and len(queued()) == 1


# --- preview ------------------------------------------------------------------------------


def test_a_compost_preview_shows_the_dry_run_and_writes_nothing(staff):
    seed_wallets([500, 800], last_activity_at=LONG_AGO)
    response = staff("preview_compost").post(reverse("admin:django_saka_preview_compost"))
    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'id="saka-preview-wallets">2<', page)
    assert re.search(r'id="saka-preview-grains">130<', page)
    assert re.search(r'id="saka-preview-silo-after">130<', page)
    assert not CycleRun.objects.exists() and services.get_silo().balance == 0


def test_a_preview_with_nothing_to_compost_says_so(staff):
    seed_wallets([500], last_activity_at=timezone.now())
    page = staff("preview_compost").post(reverse("admin:django_saka_preview_compost"))
    assert "No wallet is eligible" in page.content.decode()


# --- start --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "func"),
    [
        ("compost", "django_saka.tasks.compost"),
        ("redistribution", "django_saka.tasks.redistribute"),
    ],
)
def test_a_start_is_queued_for_a_worker(staff, kind, func):
    response = staff("start_cycle", "view_dashboard").post(
        reverse("admin:django_saka_start"), {"kind": kind, "occasion": OCCASION}, follow=True
    )
    (task,) = queued()
    assert task["func"] == func
    assert task["kwargs"] == {"source": "admin", "scheduled_for": f"admin-{OCCASION}"}
    assert any("is queued" in text for text in messages_of(response))
    assert not CycleRun.objects.exists()  # nothing runs in the request


def test_the_queued_compost_runs_and_records_the_admin_as_its_source(staff):
    seed_wallets([500] * 3, last_activity_at=LONG_AGO)
    staff("start_cycle").post(
        reverse("admin:django_saka_start"), {"kind": "compost", "occasion": OCCASION}
    )
    (result,) = run_queued()
    assert result["status"] == "enqueued"
    run = CycleRun.objects.get(pk=result["run_id"])
    assert run.source == "admin" and run.planned_wallets == 3
    assert [task["func"] for task in queued()] == [tasks.RUN_SHARD]  # its shard, queued


def test_the_same_form_posted_twice_starts_one_redistribution(staff):
    """A double click posts the form's occasion twice: the second task finds that
    occasion's run and pays nothing more."""
    seed_wallets([5000], last_activity_at=LONG_AGO)
    services.compost()
    seed_wallets([10, 10], last_activity_at=timezone.now() - timedelta(days=1))
    client = staff("start_cycle")
    for _ in range(2):
        client.post(
            reverse("admin:django_saka_start"), {"kind": "redistribution", "occasion": OCCASION}
        )
    first, second = run_queued()
    assert first["status"] == "enqueued"
    assert second["status"] == "already_done" and second["run_id"] == first["run_id"]
    run_queued()  # the shard of the first
    assert CycleRun.objects.filter(kind="redistribution").count() == 1
    assert Wallet.objects.filter(total_received__gt=0).count() == 2


def test_a_start_is_refused_while_a_run_of_its_kind_is_unfinished(staff):
    run = dead_compost_run()
    client = staff("start_cycle", "view_dashboard")
    response = client.post(
        reverse("admin:django_saka_start"), {"kind": "compost", "occasion": OCCASION}, follow=True
    )
    assert messages_of(response) == [
        f"Not started: the compost run {run.pk} is unfinished. Wait for it, "
        "or take it over or abandon it once it is dead."
    ]
    assert queued() == []
    # The other kind is not held up.
    client.post(
        reverse("admin:django_saka_start"), {"kind": "redistribution", "occasion": OCCASION}
    )
    assert [task["func"] for task in queued()] == ["django_saka.tasks.redistribute"]


def test_a_start_with_a_bad_kind_or_form_is_refused(staff):
    client = staff("start_cycle", "view_dashboard")
    url = reverse("admin:django_saka_start")
    assert client.post(url, {"kind": "harvest", "occasion": OCCASION}).status_code == 404
    response = client.post(url, {"kind": "compost", "occasion": "x"}, follow=True)
    assert messages_of(response) == ["The form was out of date; try again."]
    assert queued() == []


# --- take over ----------------------------------------------------------------------------


def test_taking_over_a_dead_run_queues_its_unfinished_shards(staff):
    run = dead_compost_run(wallets=6, shards=3)
    response = staff("take_over_run", "view_dashboard").post(
        reverse("admin:django_saka_take_over", args=[run.pk]), follow=True
    )
    assert messages_of(response) == [f"Run {run.pk} is taken over: 3 shard task(s) queued."]
    assert [(task["func"], task["args"]) for task in queued()] == [
        (tasks.RUN_SHARD, (run.pk, number)) for number in (1, 2, 3)
    ]
    run_queued()
    run.refresh_from_db()
    assert run.status == "completed" and run.wallets_done == 6


def test_a_failed_run_is_taken_over_too(staff, monkeypatch):
    seed_wallets([500] * 4, last_activity_at=LONG_AGO)
    from django_saka.cycles import engine as cycle_engine

    def broken(*args):
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(cycle_engine, "run_chunk", broken)
        with pytest.raises(Exception, match="disk on fire"):
            services.compost(shards=2)
    run = CycleRun.objects.get()
    assert run.status == "failed" and run.active_kind == "compost"
    staff("take_over_run").post(reverse("admin:django_saka_take_over", args=[run.pk]))
    run_queued()
    run.refresh_from_db()
    assert run.status == "completed" and run.wallets_done == 4


def test_a_live_run_is_not_taken_over(staff):
    seed_wallets([500] * 2, last_activity_at=LONG_AGO)
    run_id = engine.launch(plan_compost()).report.run_id
    response = staff("take_over_run", "view_dashboard").post(
        reverse("admin:django_saka_take_over", args=[run_id]), follow=True
    )
    (message,) = messages_of(response)
    assert message.startswith(f"Not taken over: run {run_id} is alive")
    assert queued() == []


def test_a_finished_run_is_not_taken_over(staff):
    seed_wallets([500], last_activity_at=LONG_AGO)
    run_id = services.compost().run_id
    response = staff("take_over_run", "view_dashboard").post(
        reverse("admin:django_saka_take_over", args=[run_id]), follow=True
    )
    assert messages_of(response) == [f"Run {run_id} is already over."]
    assert queued() == []


# --- abandon ------------------------------------------------------------------------------


def test_abandoning_asks_first_and_says_what_it_means(staff):
    run = dead_compost_run()
    client = staff("abandon_run")
    page = client.get(reverse("admin:django_saka_abandon", args=[run.pk])).content.decode()
    assert "grains it already moved stay moved" in page
    assert "has not reached yet are not composted or credited" in page
    assert "marked failed" in page and "A new run of its kind may then start" in page
    assert 'id="saka-abandon-confirm"' in page
    run.refresh_from_db()
    assert run.active_kind == "compost"  # asking changed nothing


def test_abandoning_a_dead_run_marks_it_failed_and_frees_its_kind(staff):
    run = dead_compost_run()
    response = staff("abandon_run", "view_dashboard").post(
        reverse("admin:django_saka_abandon", args=[run.pk]), {"confirm": "yes"}, follow=True
    )
    assert messages_of(response) == [
        f"Run {run.pk} is abandoned and marked failed; a new run may start."
    ]
    run.refresh_from_db()
    assert (run.status, run.active_kind) == ("failed", None) and "abandoned" in run.error
    assert services.compost().status == "completed"  # a new run starts


def test_a_live_run_is_not_abandoned(staff):
    seed_wallets([500] * 2, last_activity_at=LONG_AGO)
    run_id = engine.launch(plan_compost()).report.run_id
    response = staff("abandon_run", "view_dashboard").post(
        reverse("admin:django_saka_abandon", args=[run_id]), {"confirm": "yes"}, follow=True
    )
    (message,) = messages_of(response)
    assert message.startswith(f"Not abandoned: run {run_id} is alive")
    assert CycleRun.objects.get(pk=run_id).active_kind == "compost"


def test_a_post_without_the_confirmation_only_asks(staff):
    run = dead_compost_run()
    response = staff("abandon_run").post(reverse("admin:django_saka_abandon", args=[run.pk]))
    assert response.status_code == 200 and b'id="saka-abandon-confirm"' in response.content
    assert CycleRun.objects.get(pk=run.pk).active_kind == "compost"


# --- audits -------------------------------------------------------------------------------


def test_run_the_audit_now_queues_an_audit_recorded_as_the_admins(staff):
    seed_wallets([10, 20])
    response = staff("run_audit", "view_auditrecord").post(
        reverse("admin:django_saka_run_audit"), follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("admin:django_saka_auditrecord_changelist")
    assert any("The audit is queued" in text for text in messages_of(response))
    (task,) = queued()
    assert (task["func"], task["kwargs"]) == ("django_saka.tasks.audit", {"source": "admin"})
    assert not AuditRecord.objects.exists()
    (result,) = run_queued()
    record = AuditRecord.objects.get()
    assert (record.source, record.status, record.wallets_checked) == ("admin", "ok", 2)
    assert result["record_id"] == record.pk


def test_the_audit_task_delivered_twice_checks_twice_and_changes_nothing():
    seed_wallets([10])
    first, second = tasks.audit(source="admin"), tasks.audit(source="admin")
    assert first["status"] == second["status"] == "ok"
    assert list(AuditRecord.objects.values_list("source", "status")) == [("admin", "ok")] * 2


def test_the_audit_records_are_listed_read_only(staff):
    services.audit_ledger(record=True, source="command")
    client = staff("view_auditrecord")
    page = client.get(reverse("admin:django_saka_auditrecord_changelist")).content.decode()
    for column in (
        "Created",
        "Source",
        "Status",
        "Duration",
        "Wallets checked",
        "Ledger rows",
        "Discrepancies found",
    ):
        assert column in page
    assert "command" in page
    assert 'id="saka-run-audit"' not in page  # no run_audit permission
    record = AuditRecord.objects.get()
    change = reverse("admin:django_saka_auditrecord_change", args=[record.pk])
    assert b'name="_save"' not in client.get(change).content
    assert client.post(change, {"source": "forged"}).status_code == 403
    assert AuditRecord.objects.get().source == "command"
    assert client.get(reverse("admin:django_saka_auditrecord_add")).status_code == 403
    page = staff("view_auditrecord", "run_audit").get(
        reverse("admin:django_saka_auditrecord_changelist")
    )
    assert b'id="saka-run-audit"' in page.content


@pytest.mark.corrupts_ledger
def test_an_audit_record_shows_its_discrepancies(staff):
    (wallet,) = seed_wallets([10])
    Wallet.objects.filter(pk=wallet.pk).update(balance=11)
    services.audit_ledger(record=True)
    record = AuditRecord.objects.get()
    page = (
        staff("view_auditrecord")
        .get(reverse("admin:django_saka_auditrecord_change", args=[record.pk]))
        .content.decode()
    )
    table = re.search(r'<table id="saka-discrepancies">.*?</table>', page, re.S).group(0)
    assert "<td>conservation</td>" in table and "<td>10</td><td>11</td>" in table


def test_without_django_q_nothing_is_queued_and_the_operator_is_told_what_to_run(
    staff, monkeypatch
):
    from django.apps import apps

    installed = apps.is_installed
    monkeypatch.setattr(apps, "is_installed", lambda name: name != "django_q" and installed(name))
    run = dead_compost_run()
    client = staff("view_dashboard", "start_cycle", "take_over_run", "run_audit")
    for url, data, command in [
        (
            reverse("admin:django_saka_start"),
            {"kind": "redistribution", "occasion": OCCASION},
            "saka_redistribute",
        ),
        (reverse("admin:django_saka_take_over", args=[run.pk]), {}, "saka_compost"),
        (reverse("admin:django_saka_run_audit"), {}, "saka_audit"),
    ]:
        response = client.post(url, data, follow=True)
        assert messages_of(response) == [
            "Nothing was queued: django-q2 (django_q) is not in INSTALLED_APPS, so no "
            f"worker would run it. Run manage.py {command} instead."
        ]
    assert queued() == []
