"""A small host project that installs django-saka.

SQLite (example/db.sqlite3, or the path in SAKA_EXAMPLE_SQLITE) by default;
SAKA_EXAMPLE_DB=postgres uses the local PostgreSQL server instead."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = "example-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_saka",
    "demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "example_project.urls"
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

if os.environ.get("SAKA_EXAMPLE_DB") == "postgres":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "HOST": "127.0.0.1",
            "USER": "postgres",
            "NAME": os.environ.get("SAKA_EXAMPLE_DB_NAME", "saka_example"),
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SAKA_EXAMPLE_SQLITE", BASE_DIR / "db.sqlite3"),
            "OPTIONS": {
                # WAL and IMMEDIATE transactions: readers never block the writer, and
                # concurrent writers queue for the lock instead of failing mid-transaction.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
            },
        }
    }

SAKA = {
    "REASONS": {
        "welcome_bonus": {"reward": 100, "daily_limit": 1},
        "content_read": {"reward": 10, "daily_limit": 3},
        "poll_vote": {"reward": 5, "daily_limit": 10},
        "invite_accepted": {"reward": 50, "daily_limit": 5},
        "manual_adjust": {"reward": None, "max_amount": 500, "daily_amount": 1000},
    },
    # Half the silo each time, so the demo's single redistribution gives every member
    # a few grains (5%, the default, would be less than one grain each here).
    "REDISTRIBUTION": {"RATE": "0.5"},
}
