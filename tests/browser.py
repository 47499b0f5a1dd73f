"""Headless Chromium for the browser tests (marker ``browser``), loaded by tests/conftest.py.

One Chromium per test session, driven through Selenium with Debian's ``chromedriver``
(both found on ``PATH``), against pytest-django's ``live_server``. Screenshots go to
``$SAKA_ARTIFACTS/[<tox env>/]browser/<test>/`` (default ``test-artifacts/`` at the
repository root), one numbered PNG per step, plus ``FAILED.png`` and ``FAILED.html``
when a test fails.

Without Chromium, chromedriver or Selenium the tests skip, naming what is missing;
under ``SAKA_REQUIRE_BROWSER=1`` (set by .ci/run) they fail instead. ``SAKA_BROWSER=0``
deselects them (the tox environments on PostgreSQL and MariaDB set it).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
WINDOW = (1280, 1000)
TIMEOUT = 10  # seconds a page or an element may take to appear


def artifacts_dir() -> Path:
    """$SAKA_ARTIFACTS or test-artifacts/, with a folder per tox environment."""
    root = Path(os.environ.get("SAKA_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    return root / os.environ["TOX_ENV_NAME"] if os.environ.get("TOX_ENV_NAME") else root


def missing_browser() -> str | None:
    """What the browser tests lack on this machine, or None."""
    missing = [name for name in ("chromium", "chromedriver") if shutil.which(name) is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (the [test] extra)")
    if missing:
        return f"needs {', '.join(missing)} (scripts/install-system-deps installs Chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("SAKA_BROWSER") != "0":
        return
    browser = [item for item in items if item.get_closest_marker("browser")]
    if browser:
        config.hook.pytest_deselected(items=browser)
        items[:] = [item for item in items if not item.get_closest_marker("browser")]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_failed] = report.failed
    return report


_failed = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def chromium(live_server: Any) -> Iterator[Any]:
    """The Selenium driver of one headless Chromium, shared by the session's tests.

    It needs the live server only to quit before it: a keep-alive connection closed
    after the server stopped would touch a no-longer-shared SQLite connection."""
    reason = missing_browser()
    if reason:
        if os.environ.get("SAKA_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SAKA_REQUIRE_BROWSER=1 but the browser tests {reason}", pytrace=False)
        pytest.skip(f"browser test {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",  # as root, and in containers without user namespaces
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-extensions",
        "--no-first-run",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


class Browser:
    """A test's view of the shared Chromium: pages of the live server, screenshots."""

    def __init__(self, driver: Any, base_url: str, shots: Path) -> None:
        self.driver = driver
        self.base_url = base_url
        self.shots = shots
        self.step = 0

    def set_language(self, language: str) -> None:
        """The Accept-Language the browser sends (what LocaleMiddleware would follow)."""
        agent = self.driver.execute_script("return navigator.userAgent")
        self.driver.execute_cdp_cmd(
            "Network.setUserAgentOverride", {"userAgent": agent, "acceptLanguage": language}
        )

    def get(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[Any]:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, timeout: float = TIMEOUT) -> Any:
        """The first element matching ``css`` once it is displayed."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions
        from selenium.webdriver.support.wait import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(
            expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css))
        )

    def wait_until(self, condition: Any, timeout: float = TIMEOUT) -> Any:
        from selenium.webdriver.support.wait import WebDriverWait

        return WebDriverWait(self.driver, timeout).until(lambda driver: condition())

    def click(self, css: str) -> None:
        """Click a link or a button and wait for the page it leads to."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.support.wait import WebDriverWait

        # A mark on the old page's window: the next page is a new window object without
        # it. (Waiting for the old <html> element to go stale raced with the navigation:
        # ChromeDriver sometimes answered "Node with given id does not belong to the
        # document", an unknown error, instead of "stale element".)
        self.driver.execute_script("window.sakaLeaving = true;")
        self.find(css).click()
        WebDriverWait(self.driver, TIMEOUT, ignored_exceptions=(WebDriverException,)).until(
            lambda driver: driver.execute_script(
                "return window.sakaLeaving !== true && document.readyState === 'complete';"
            )
        )

    def submit(self, css: str = "[type=submit]") -> None:
        """Submit a form with its button and wait for the next page."""
        self.click(css)

    def fill(self, fields: dict[str, str]) -> None:
        """Type into the form fields named by ``fields``' keys."""
        for name, value in fields.items():
            element = self.find(f"[name={name!r}]")
            element.clear()
            element.send_keys(value)

    def text(self, css: str = "body") -> str:
        return self.find(css).text

    def html_language(self) -> str:
        return self.find("html").get_attribute("lang")

    def screenshot(self, name: str) -> Path:
        """Save the whole page as the test's next numbered screenshot."""
        self.step += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self.step:02d}-{name}.png"
        # A viewport as tall as the page, so the PNG shows all of it.
        content = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]
        self.driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": WINDOW[0],
                "height": min(max(int(content["height"]), WINDOW[1]), 8000),
                "deviceScaleFactor": 1,
                "mobile": False,
            },
        )
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        return path

    def login(self, username: str, password: str) -> None:
        """Log in through the admin's login form."""
        self.get("/admin/login/?next=/admin/")
        self.wait_for("#id_username")
        self.fill({"username": username, "password": password})
        self.screenshot("login")
        self.submit()


@pytest.fixture
def browser(chromium: Any, live_server: Any, request: pytest.FixtureRequest) -> Iterator[Browser]:
    """The shared Chromium on a fresh start (no cookies) and this test's screenshots."""
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    shots = artifacts_dir() / "browser" / name
    shutil.rmtree(shots, ignore_errors=True)
    chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    page = Browser(chromium, live_server.url, shots)
    page.set_language("en")
    yield page
    if request.node.stash.get(_failed, False):
        shots.mkdir(parents=True, exist_ok=True)
        chromium.save_screenshot(str(shots / "FAILED.png"))
        (shots / "FAILED.html").write_text(chromium.page_source, encoding="utf-8")
