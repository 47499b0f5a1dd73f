"""Messages point at the documentation site, and every page they name exists."""

from __future__ import annotations

import re
from pathlib import Path

from django_saka.docs import DOCS_URL, docs_url

ROOT = Path(__file__).resolve().parent.parent


def test_the_documentation_url_is_the_one_pyproject_publishes():
    # tomllib is Python 3.11+; the [project.urls] lines are simple enough to read.
    section = (ROOT / "pyproject.toml").read_text().split("[project.urls]")[1].split("\n[")[0]
    urls = dict(re.findall(r'^(\w+) = "([^"]+)"', section, re.MULTILINE))
    assert urls["Documentation"] == DOCS_URL
    assert urls["Changelog"] == docs_url("changelog")


def test_every_page_a_message_names_is_a_page_of_the_site():
    named = set()
    for path in (ROOT / "django_saka").rglob("*.py"):
        named |= set(re.findall(r'docs_url\(\s*"([^"]+)"', path.read_text()))
    assert named, "no message names a page: the scan is broken"
    missing = sorted(page for page in named if not (ROOT / "docs" / f"{page}.md").is_file())
    assert not missing


def test_no_message_points_at_a_source_tree_path():
    # A project that installed the wheel has no docs/ folder to look in.
    offenders = []
    for path in (ROOT / "django_saka").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            # A string literal naming a docs/ path; docstrings (for contributors) may.
            if '"""' not in line and re.search(r'"[^"]*docs/\w+\.md', line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders


def test_anchor_is_appended_after_the_page():
    assert docs_url("checks", "django_sakae011") == f"{DOCS_URL}checks/#django_sakae011"


def test_the_readme_links_to_the_site_by_absolute_urls_of_pages_that_exist():
    # The README is the PyPI page, where relative links to docs/*.md do not resolve.
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)]+)\)", readme)
    assert targets
    assert not [target for target in targets if "://" not in target]
    pages = [target[len(DOCS_URL) :] for target in targets if target.startswith(DOCS_URL)]
    assert len(pages) >= 10
    missing = [page for page in pages if not (ROOT / "docs" / f"{page.rstrip('/')}.md").is_file()]
    assert not missing
