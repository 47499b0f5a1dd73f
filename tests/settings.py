"""Test settings. The database comes from SAKA_TEST_DB: sqlite (default), postgres or mysql."""

from __future__ import annotations

import os

SECRET_KEY = "django-saka-tests"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",  # the live server of the browser tests serves the admin's CSS
    "django_q",
    "django_saka",
    "tests.testapp",
    # The optional HTTP API (django_saka.api): REST framework and its token model.
    "rest_framework",
    "rest_framework.authtoken",
]

# Tokens first: an anonymous request is answered 401 with "WWW-Authenticate: Token".
# Sessions serve the test client's force_login().
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # docs/http-api.md: the host's own REST framework views answer SakaError this way.
    "EXCEPTION_HANDLER": "django_saka.api.handlers.exception_handler",
}

# django-q2 for the task tests: "sync" runs every enqueued task at once, in-process.
# The cluster tests start a real qcluster with tests/settings_cluster.py instead.
Q_CLUSTER = {
    "name": "saka_tests",
    "orm": "default",
    "sync": True,
    "workers": 2,
    "timeout": 60,
    "retry": 200,  # above timeout + RUN_LEASE_SECONDS (django_saka.W003)
    "catch_up": False,
}

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
STATIC_URL = "static/"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

DB_VENDOR = os.environ.get("SAKA_TEST_DB", "sqlite")
# Parallel tox environments share one server: give each its own test database.
_SUFFIX = os.environ.get("TOX_ENV_NAME", "local").replace("-", "_").replace(".", "_")

if DB_VENDOR == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": os.environ.get("SAKA_PG_HOST", "127.0.0.1"),
            "PORT": os.environ.get("SAKA_PG_PORT", "5432"),
            "USER": os.environ.get("SAKA_PG_USER", "postgres"),
            "PASSWORD": os.environ.get("SAKA_PG_PASSWORD", ""),
            "NAME": "postgres",  # always there; the tests run in TEST["NAME"]
            "TEST": {"NAME": f"test_saka_{_SUFFIX}"},
        }
    }
elif DB_VENDOR == "mysql":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.mysql",
            "HOST": os.environ.get("SAKA_MYSQL_HOST", "127.0.0.1"),
            "PORT": os.environ.get("SAKA_MYSQL_PORT", "3306"),
            "USER": os.environ.get("SAKA_MYSQL_USER", "root"),
            "PASSWORD": os.environ.get("SAKA_MYSQL_PASSWORD", ""),
            "NAME": "test",
            "OPTIONS": {"charset": "utf8mb4"},
            "TEST": {"NAME": f"test_saka_{_SUFFIX}", "CHARSET": "utf8mb4"},
        }
    }
elif DB_VENDOR == "sqlite":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": ":memory:",
        }
    }
else:
    raise RuntimeError(f"SAKA_TEST_DB must be sqlite, postgres or mysql, not {DB_VENDOR!r}")

# A second database, used only by tests that route the app's models elsewhere
# (tests/test_database_alias.py); created only when such a test runs.
DATABASES["other"] = {
    **DATABASES["default"],
    "TEST": {**DATABASES["default"].get("TEST", {}), "NAME": f"test_saka_{_SUFFIX}_other"},
}
if DB_VENDOR == "sqlite":
    DATABASES["other"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}

# Worker subprocesses started by the tests (tests/cycle_worker.py) connect to the
# database the test uses: its test database, or a SQLite file.
if os.environ.get("SAKA_TEST_DB_NAME"):
    DATABASES["default"]["NAME"] = os.environ["SAKA_TEST_DB_NAME"]
