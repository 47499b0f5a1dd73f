"""Where the documentation lives, for messages that point at it.

System-check hints and errors name absolute URLs of the documentation site, not paths
of the source tree: a project that installed the wheel has no ``docs/`` folder.
``pyproject.toml``'s ``[project.urls] Documentation`` is the same address (a test
keeps them equal).
"""

from __future__ import annotations

DOCS_URL = "https://django-saka.readthedocs.io/en/latest/"


def docs_url(page: str, anchor: str = "") -> str:
    """The address of a page of the documentation site, e.g. ``docs_url("settings")``.

    ``page`` is the page's file name without ``.md`` (the site serves ``settings.md``
    at ``settings/``); ``anchor`` a heading's id on it.
    """
    return f"{DOCS_URL}{page}/" + (f"#{anchor}" if anchor else "")
