"""The admin in a real browser (headless Chromium, tests/browser.py), in English and in
French. Screenshots of every step go to test-artifacts/browser/<test>/.

tests/settings.py has no LocaleMiddleware, so the admin speaks ``LANGUAGE_CODE``: the
French run overrides it (and the browser asks for French too, which is what a project
with LocaleMiddleware would follow).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from django_saka import services
from django_saka.models import Direction, Transaction, Wallet
from tests.factories import seed_wallets

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct horse battery staple"


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
def operator(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("operator", "op@example.com", PASSWORD)


@pytest.fixture
def alice(make_user: Any) -> Any:
    alice = make_user("alice")
    services.harvest(alice, "content_read")
    return alice


def test_admin_pages(browser: Any, language: str, operator: Any, alice: Any) -> None:
    seed_wallets([120, 40])

    browser.login("operator", PASSWORD)
    assert browser.path == "/admin/", browser.text()
    assert browser.html_language() == language
    browser.screenshot("index")

    # The SAKA app's index lists its models in the admin's language.
    browser.get("/admin/django_saka/")
    page = browser.text("#content").lower()
    for model in (Wallet, Transaction):
        assert expected(language, model._meta.verbose_name_plural).lower() in page
    if language == "fr":
        assert "portefeuilles" in page and "opérations du registre" in page
        assert "déconnexion" in browser.text("#user-tools").lower()
    browser.screenshot("saka-app")

    # The wallets: alice's and the two seeded ones, read-only (no "add" button).
    browser.get("/admin/django_saka/wallet/")
    rows = browser.find_all("#result_list tbody tr")
    assert len(rows) == 3
    assert any("alice" in row.text and "10" in row.text for row in rows)
    assert not browser.find_all(".object-tools .addlink")
    browser.screenshot("wallets")

    # Alice's wallet: its figures, and neither a save button nor a delete link.
    browser.click(f'#result_list a[href$="/{alice.saka_wallet.pk}/change/"]')
    assert "alice" in browser.text("#content")
    assert not browser.find_all("[name=_save], [name=_continue], .deletelink")
    browser.screenshot("wallet")

    # The ledger: alice's harvest, in words of the admin's language, read-only.
    browser.get("/admin/django_saka/transaction/")
    rows = browser.find_all("#result_list tbody tr")
    assert len(rows) == 3
    harvest = next(row for row in rows if "alice" in row.text)
    assert "content_read" in harvest.text
    assert expected(language, Direction.EARN.label) in harvest.text
    if language == "fr":
        assert "gain" in harvest.text
    assert not browser.find_all(".object-tools .addlink")
    browser.screenshot("ledger")
