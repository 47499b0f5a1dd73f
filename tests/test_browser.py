"""The admin in a real browser (headless Chromium, tests/browser.py), in English and in
French: an operator's round of the SAKA admin, with a screenshot of every step in
test-artifacts/browser/<test>/. The operator logs in through the login form, opens the
SAKA app and its dashboard (figures, and a chart whose dots and bars the browser laid
out with the runs' values), previews a compost (its report, nothing written), credits
a member's wallet through its form (the new ledger row on the wallet page, and on its
own page nothing to edit or delete), creates a season (its figures on its page and on
the dashboard) and looks at the ledger list.

tests/settings.py has no LocaleMiddleware, so the admin speaks ``LANGUAGE_CODE``: the
French run overrides it (and the browser asks for French too, which is what a project
with LocaleMiddleware would follow).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from django_saka import services
from django_saka.models import CycleRun, Direction, Season, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"

# What the operator types, in each language.
WORDS = {
    "en": {
        "date": "%Y-%m-%d",
        "comment": "Prize of the photo contest",
        "season": "Autumn 2026",
    },
    "fr": {
        "date": "%d/%m/%Y",
        "comment": "Prix du concours photo",
        "season": "Automne 2026",
    },
}


# The drawn data points of the dashboard's chart, as laid out by the browser: position
# and size relative to the chart, and whether they lie inside it.
CHART_POINTS = """
const chart = document.getElementById("saka-chart").getBoundingClientRect();
return [...document.querySelectorAll("#saka-chart .saka-chart-point")].map(point => {
  const box = point.getBoundingClientRect();
  return {
    tag: point.tagName, series: point.dataset.series,
    run: Number(point.dataset.run), value: Number(point.dataset.value),
    left: box.left - chart.left, right: box.right - chart.left,
    center: (box.left + box.right) / 2 - chart.left, top: box.top - chart.top,
    width: box.width, height: box.height,
    inside: box.left >= chart.left && box.right <= chart.right
      && box.top >= chart.top && box.bottom <= chart.bottom,
  };
});
"""


@pytest.fixture(params=["en", "fr"])
def language(request: pytest.FixtureRequest, settings: Any, browser: Any) -> str:
    """The language of the run: the admin's LANGUAGE_CODE and the browser's."""
    settings.LANGUAGE_CODE = request.param
    browser.set_language(request.param)
    return request.param


def expected(language: str, text: Any) -> str:
    """``text`` (a lazy translation) as the admin shows it in ``language``."""
    with translation.override(language):
        return str(text)


@pytest.fixture
def economy(django_user_model: Any, make_user: Any) -> dict[str, Any]:
    """An operator; alice, who read an article today; two members idle for 200 days,
    composted by a first run (50 + 30 grains), half the silo then redistributed to
    alice (40 grains); and a third idle member, whom the next compost would take 100
    grains from."""
    django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)
    alice = make_user("alice")
    services.harvest(alice, "content_read")
    long_ago = timezone.now() - timedelta(days=200)
    seed_wallets([500, 300], last_activity_at=long_ago)
    compost = services.compost()
    redistribution = services.redistribute(rate="0.5")
    assert (compost.grains_moved, redistribution.grains_moved) == (80, 40)
    seed_wallets([1000], last_activity_at=long_ago)
    return {"alice": alice, "runs": CycleRun.objects.order_by("pk")}


def test_an_operator_s_round_of_the_admin(browser: Any, language: str, economy: Any) -> None:
    words = WORDS[language]
    alice = economy["alice"]

    # Log in through the login form.
    browser.login("operator", PASSWORD)
    assert browser.path == "/admin/", browser.text()
    assert browser.html_language() == language

    # The SAKA app lists its models in the admin's language, and links the dashboard.
    browser.get("/admin/django_saka/")
    page = browser.text("#content").lower()
    for model in (Wallet, Transaction, Season):
        assert expected(language, model._meta.verbose_name_plural).lower() in page
    if language == "fr":
        assert "portefeuilles" in page and "saisons" in page
        assert "déconnexion" in browser.text("#user-tools").lower()
    browser.screenshot("saka-app")

    # The dashboard: its figures, and a chart that drew one dot (silo after) and one bar
    # (grains moved) per run, each with the run's value, visible on the page.
    browser.click("#saka-dashboard-link")
    assert browser.text("#saka-silo-balance") == "40"
    browser.wait_for("#saka-chart")
    drawn = browser.driver.execute_script(CHART_POINTS)
    assert sorted((p["tag"], p["series"], p["value"]) for p in drawn) == [
        ("circle", "silo", 40),
        ("circle", "silo", 80),
        ("rect", "compost", 80),
        ("rect", "redistribution", 40),
    ]
    assert all(p["inside"] and p["width"] > 0 and p["height"] > 0 for p in drawn), drawn
    # Bars as tall as the grains each run moved; a dot per run over its bar, as high
    # as the silo after it; runs from left to right.
    bars = {p["run"]: p for p in drawn if p["tag"] == "rect"}
    dots = {p["run"]: p for p in drawn if p["tag"] == "circle"}
    compost, redistribution = sorted(bars)
    assert bars[compost]["height"] == pytest.approx(2 * bars[redistribution]["height"], abs=1)
    assert bars[compost]["right"] <= bars[redistribution]["left"]
    for run, dot in dots.items():
        assert bars[run]["left"] < dot["center"] < bars[run]["right"]
    assert dots[compost]["top"] < dots[redistribution]["top"]
    browser.screenshot("dashboard")

    # A dry-run compost: its report, and nothing written.
    rows_before = Transaction.objects.count()
    browser.submit("#saka-preview-compost")
    assert browser.text("#saka-preview-wallets") == "1"
    assert browser.text("#saka-preview-grains") == "100"
    assert browser.text("#saka-preview-silo-after") == "140"
    assert Transaction.objects.count() == rows_before
    assert services.get_silo().balance == 40
    browser.screenshot("compost-preview")

    # Alice's wallet, then a manual credit through its form.
    browser.get("/admin/django_saka/wallet/")
    browser.click(f'#result_list a[href$="/{alice.saka_wallet.pk}/change/"]')
    assert not browser.find_all("[name=_save], [name=_continue], .deletelink")
    browser.screenshot("wallet")
    browser.click("#saka-adjust-balance")
    browser.find("[name=direction][value=credit]").click()
    browser.fill({"amount": "25", "comment": words["comment"]})
    browser.screenshot("adjust-form")
    browser.submit("#saka-adjust-submit")
    assert browser.path == f"/admin/django_saka/wallet/{alice.saka_wallet.pk}/change/"
    assert services.get_balance(alice).balance == 10 + 40 + 25
    row = Transaction.objects.get(user=alice, reason="manual_adjust")
    assert (row.direction, row.amount) == (Direction.EARN, 25)
    assert words["comment"] in str(row.metadata)
    shown = browser.text(f"#saka-ledger-row-{row.pk}")
    assert "25" in shown and "manual_adjust" in shown
    assert expected(language, Direction.EARN.label) in shown
    browser.screenshot("wallet-adjusted")

    # The new ledger row: on its page, nothing to edit and nothing to delete.
    browser.click(f"#saka-ledger-row-{row.pk} a")
    assert browser.path == f"/admin/django_saka/transaction/{row.pk}/change/"
    assert not browser.find_all(
        "[name=_save], [name=_continue], [name=_addanother], .deletelink,"
        " #content-main input:not([type=hidden]), #content-main textarea, #content-main select"
    )
    assert "manual_adjust" in browser.text("#content")
    browser.screenshot("ledger-row")

    # A season around today, created through its form, and its figures on its page.
    today = timezone.localdate()
    browser.get("/admin/django_saka/season/add/")
    browser.fill(
        {
            "name": words["season"],
            "start_0": (today - timedelta(days=1)).strftime(words["date"]),
            "start_1": "00:00:00",
            "end_0": (today + timedelta(days=2)).strftime(words["date"]),
            "end_1": "00:00:00",
        }
    )
    browser.screenshot("season-form")
    browser.submit("[name=_continue]")
    season = Season.objects.get(name=words["season"])
    assert browser.path == f"/admin/django_saka/season/{season.pk}/change/", browser.text()
    figures = {
        "harvested": 10 + 25,
        "spent": 0,
        "composted": 80,
        "redistributed": 40,
        "closed": 0,
        "active-members": 1,
    }
    assert {name: browser.text(f"#saka-season-{name}") for name in figures} == {
        name: str(value) for name, value in figures.items()
    }
    browser.screenshot("season")

    # The dashboard now shows it as the current season, with the same figures.
    browser.get(reverse("admin:django_saka_dashboard"))
    current = browser.find(f'tr.saka-season[data-season-id="{season.pk}"]')
    assert current.get_attribute("data-current") == "true"
    assert words["season"] in current.text
    shown = {
        cell.get_attribute("data-figure"): cell.text
        for cell in current.find_elements("css selector", "td[data-figure]")
    }
    assert shown == {name.replace("-", "_"): str(value) for name, value in figures.items()}
    browser.screenshot("dashboard-season")

    # The ledger list: read-only, no "add" button.
    browser.get("/admin/django_saka/transaction/")
    rows = [row.text for row in browser.find_all("#result_list tbody tr")]
    assert any("alice" in text and "manual_adjust" in text for text in rows), rows
    assert not browser.find_all(".object-tools .addlink")
    browser.screenshot("ledger")
