"""The HTTP API is optional: without REST framework installed, django-saka imports, its
checks pass, and the API's own error mapping (Django only) still works."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "django_saka"
API_PACKAGE = PACKAGE / "api"
EXTRA_MODULES = ("rest_framework", "drf_spectacular")

# Runs in a fresh interpreter where importing the extra's packages fails, as when
# `pip install django-saka` was run without [api].
WITHOUT_THE_EXTRA = r"""
import importlib, pkgutil, sys

class RefuseTheExtra:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {"rest_framework", "drf_spectacular"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, RefuseTheExtra())

import django
from django.conf import settings

from tests import settings as tests_settings

# The test settings, less the extra's apps and settings.
settings.configure(
    **{
        name: getattr(tests_settings, name)
        for name in dir(tests_settings)
        if name.isupper() and name != "REST_FRAMEWORK"
    }
    | {
        "INSTALLED_APPS": [
            app for app in tests_settings.INSTALLED_APPS if not app.startswith("rest_framework")
        ],
        "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        "ROOT_URLCONF": "tests.urls_empty",
    }
)
django.setup()

import django_saka
# Every module of the app, but the API's views, imports.
for module in pkgutil.walk_packages(django_saka.__path__, "django_saka."):
    if module.name.startswith("django_saka.api.") and module.name != "django_saka.api.errors":
        continue
    importlib.import_module(module.name)

from django.core.management import call_command
call_command("check", fail_level="WARNING")

from django_saka.api.errors import saka_error_answer
from django_saka.exceptions import DailyLimitReached
assert saka_error_answer(DailyLimitReached("x", reason="r", limit=1)).status == 429

from django.core.exceptions import ImproperlyConfigured
try:
    import django_saka.api.urls
except ImproperlyConfigured as error:
    print("urls:", error)
assert not {"rest_framework", "drf_spectacular"} & set(sys.modules)
print("ok")
"""


def test_the_app_works_without_the_api_extra():
    ran = subprocess.run(
        [sys.executable, "-c", WITHOUT_THE_EXTRA],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[-1] == "ok"
    # Including the API's URLs without the extra says what to install.
    assert "pip install 'django-saka[api]'" in lines[-2]
    assert "System check identified no issues" in ran.stdout + ran.stderr


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_only_the_api_package_imports_the_extra():
    importers = [
        path.relative_to(PACKAGE.parent)
        for path in PACKAGE.rglob("*.py")
        if API_PACKAGE not in path.parents
        and any(name.split(".")[0] in EXTRA_MODULES for name in _imported_modules(path))
    ]
    assert importers == []


def test_the_error_mapping_needs_django_only():
    imported = _imported_modules(API_PACKAGE / "errors.py")
    assert not {name.split(".")[0] for name in imported} & set(EXTRA_MODULES)
